//! The web pages over real HTTP, as a browser without JavaScript uses them:
//! a cookie jar, forms posted as the page renders them (CSRF token
//! included), redirects followed, and the HTML parsed.

use std::collections::{BTreeSet, VecDeque};

use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::json;

use crate::helpers::*;

/// A browser-like client: its own cookie jar, following redirects.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
}

/// A page as the browser got it.
struct Page {
    status: StatusCode,
    /// The path (and query) after redirects.
    path: String,
    html: String,
}

impl Page {
    fn doc(&self) -> Html {
        Html::parse_document(&self.html)
    }
    /// The value of the first element matching `sel` with attribute `attr`.
    fn attr(&self, sel: &str, attr: &str) -> Option<String> {
        let s = Selector::parse(sel).unwrap();
        self.doc().select(&s).next().and_then(|e| e.value().attr(attr)).map(str::to_string)
    }
    fn text(&self) -> String {
        self.doc().root_element().text().collect::<Vec<_>>().join("")
    }
    fn links(&self) -> Vec<String> {
        let s = Selector::parse("a[href]").unwrap();
        self.doc().select(&s).filter_map(|a| a.value().attr("href")).map(str::to_string).collect()
    }
    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        self.attr("input[name=csrf]", "value").unwrap_or_else(|| panic!("no csrf field on {}", self.path))
    }
    #[track_caller]
    fn assert_ok(&self) -> &Self {
        assert_eq!(self.status, StatusCode::OK, "{}: {}", self.path, &self.html[..self.html.len().min(3000)]);
        self
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
        Browser { app, client }
    }

    async fn page(&self, res: reqwest::Response) -> Page {
        let status = res.status();
        let url = res.url().clone();
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Page { status, path, html: res.text().await.unwrap_or_default() }
    }

    async fn get(&self, path: &str) -> Page {
        let res = self.client.get(self.app.url(path)).send().await.expect("GET");
        self.page(res).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self.client.post(self.app.url(path)).form(form).send().await.expect("POST");
        self.page(res).await
    }

    async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Page {
        let res = self.client.post(self.app.url(path)).multipart(form).send().await.expect("POST");
        self.page(res).await
    }

    /// Signs in through the login form; returns the page landed on.
    async fn login(&self, username: &str) -> Page {
        let form = self.get("/login").await;
        form.assert_ok();
        let token = form.attr("input[name=csrf]", "value").expect("login csrf");
        self.post("/login", &[("username", username), ("password", PASSWORD), ("csrf", &token)]).await
    }
}

fn pdf_part(name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(format!("%PDF-1.4\n% {name}\n%%EOF\n").into_bytes())
        .file_name(format!("{name}.pdf"))
        .mime_str("application/pdf")
        .unwrap()
}

/// The case id in a `/cases/{id}...` path.
fn case_id_of(path: &str) -> i64 {
    path.trim_start_matches("/cases/").split(['?', '/']).next().unwrap().parse().unwrap_or_else(|_| panic!("{path}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_lands_on_its_home() {
    let app = spawn().await;
    for (user, home, marker) in [
        ("ent_a", "/my/records", "我的信用记录"),
        ("sthj", "/cases?view=todo", "待办"),
        ("office", "/office/dashboard", "监测看板"),
        ("admin", "/admin/users", "用户管理"),
    ] {
        let b = Browser::new(&app);
        let page = b.login(user).await;
        page.assert_ok();
        assert_eq!(page.path, home, "{user}");
        assert!(page.text().contains(marker), "{user}: {}", page.html);
        // The session cookie is HttpOnly and SameSite=Strict.
        let res = app.client.get(app.url("/login")).send().await.unwrap();
        let set = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    }
    // A wrong password is shown on the form and counts toward the lockout.
    let b = Browser::new(&app);
    let form = b.get("/login").await;
    let token = form.attr("input[name=csrf]", "value").unwrap();
    let page = b.post("/login", &[("username", "sthj"), ("password", "wrong"), ("csrf", &token)]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.text().contains("用户名或密码"), "{}", page.html);
    let u = entity::user::Entity::find()
        .filter(entity::user::Column::Username.eq("sthj"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let counters = entity::login_throttle::Entity::find()
        .filter(entity::login_throttle::Column::UserId.eq(u.id))
        .all(&app.state.db)
        .await
        .unwrap();
    let failures = |client: &str| counters.iter().find(|c| c.client == client).map(|c| c.failures);
    assert_eq!(failures("127.0.0.1"), Some(1), "{counters:?}");
    assert_eq!(failures(entity::login_throttle::ACCOUNT), Some(1), "{counters:?}");
}

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repair_filed_accepted_and_approved_in_pages_ends_publication() {
    let app = spawn().await;
    let record_id = app.record_id(demo::REPAIRABLE).await;

    // The applicant sees the record as repairable and files with both materials.
    let ent = Browser::new(&app);
    let records = ent.login("ent_a").await;
    records.assert_ok();
    assert!(records.links().contains(&format!("/records/{record_id}/apply?kind=repair")), "{}", records.html);
    let form = ent.get(&format!("/records/{record_id}/apply?kind=repair")).await;
    form.assert_ok();
    assert!(form.text().contains("履行完毕证明") && form.text().contains("信用承诺书"), "{}", form.html);
    let idem = form.attr("input[name=idem]", "value").unwrap();
    let multipart = reqwest::multipart::Form::new()
        .text("csrf", form.csrf())
        .text("kind", "repair")
        .text("idem", idem)
        .text("reason", "已缴清罚款并完成整改")
        .part("fulfilment_proof", pdf_part("proof"))
        .part("commitment_letter", pdf_part("letter"));
    let case = ent.post_multipart(&format!("/records/{record_id}/apply"), multipart).await;
    case.assert_ok();
    assert!(case.path.starts_with("/cases/"), "{}", case.path);
    let id = case_id_of(&case.path);
    assert!(case.text().contains("申请已提交"), "{}", case.html);
    assert!(case.doc().select(&Selector::parse("tbody tr td").unwrap()).count() > 0);
    assert!(case.text().contains("履行完毕证明") && case.text().contains("信用承诺书"));

    // The credit office accepts from the case page: the buttons are the engine's actions.
    let office = Browser::new(&app);
    office.login("office").await.assert_ok();
    let intake = office.get("/cases?view=intake").await;
    assert!(intake.links().contains(&format!("/cases/{id}")), "{}", intake.html);
    let page = office.get(&format!("/cases/{id}")).await;
    let actions: Vec<String> = {
        let s = Selector::parse("form.action-form").unwrap();
        page.doc().select(&s).filter_map(|f| f.value().attr("data-action").map(str::to_string)).collect()
    };
    assert_eq!(actions, ["accept", "reject", "request_supplement"], "{}", page.html);
    let version = page.attr("form[data-action=accept] input[name=version]", "value").unwrap();
    let accepted =
        office.post(&format!("/cases/{id}/actions/accept"), &[("csrf", &page.csrf()), ("version", &version)]).await;
    accepted.assert_ok();
    assert!(accepted.text().contains("已办理：受理"), "{}", accepted.html);

    // The department approves from its to-do list.
    let dept = Browser::new(&app);
    let todo = dept.login("sthj").await;
    assert!(todo.links().contains(&format!("/cases/{id}")), "{}", todo.html);
    let page = dept.get(&format!("/cases/{id}")).await;
    let version = page.attr("form[data-action=approve] input[name=version]", "value").unwrap();
    let done = dept
        .post(
            &format!("/cases/{id}/actions/approve"),
            &[("csrf", &page.csrf()), ("version", &version), ("comment", "材料属实，准予修复")],
        )
        .await;
    done.assert_ok();
    assert!(done.text().contains("已修复"), "{}", done.html);

    // The public query no longer lists the record.
    let public = Browser::new(&app).get(&format!("/?q={}", demo::ENT_A)).await;
    public.assert_ok();
    assert!(public.text().contains("泉城示例建材有限公司"), "{}", public.html);
    assert!(!public.text().contains(demo::REPAIRABLE), "{}", public.html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_objection_is_marked_on_the_public_page() {
    let app = spawn().await;
    let record_id = app.record_id(demo::LIST_ENTRY).await;
    let ent = Browser::new(&app);
    ent.login("ent_c").await.assert_ok();
    let form = ent.get(&format!("/records/{record_id}/apply?kind=objection")).await;
    form.assert_ok();
    // The grounds are chosen from the list; evidence is required.
    assert!(form.attr("select[name=grounds] option[value=wrong_identity]", "value").is_some(), "{}", form.html);
    assert!(form.attr("input[name=evidence]", "type").is_some(), "{}", form.html);
    let multipart = reqwest::multipart::Form::new()
        .text("csrf", form.csrf())
        .text("kind", "objection")
        .text("idem", form.attr("input[name=idem]", "value").unwrap())
        .text("grounds", "wrong_identity")
        .text("reason", "处罚对象有误")
        .part("evidence", pdf_part("evidence"));
    let case = ent.post_multipart(&format!("/records/{record_id}/apply"), multipart).await;
    case.assert_ok();
    let id = case_id_of(&case.path);
    let public = Browser::new(&app);
    let marked = |p: &Page| {
        let s = Selector::parse("span.tag").unwrap();
        p.doc().select(&s).filter(|e| e.text().collect::<String>() == "异议处理中").count()
    };
    assert_eq!(marked(&public.get(&format!("/?q={}", demo::ENT_C)).await), 0, "not marked before acceptance");

    let office = Browser::new(&app);
    office.login("office").await;
    let page = office.get(&format!("/cases/{id}")).await;
    let version = page.attr("form[data-action=accept] input[name=version]", "value").unwrap();
    office
        .post(&format!("/cases/{id}/actions/accept"), &[("csrf", &page.csrf()), ("version", &version)])
        .await
        .assert_ok();

    let shown = public.get(&format!("/?q={}", demo::ENT_C)).await;
    shown.assert_ok();
    assert!(shown.text().contains(demo::LIST_ENTRY), "{}", shown.html);
    assert_eq!(marked(&shown), 1, "{}", shown.html);
    // The name search finds it too.
    let by_name = public.get("/?q=%E7%89%A9%E6%B5%81").await;
    assert!(by_name.text().contains("泉城示例物流有限公司"), "{}", by_name.html);
    assert_eq!(marked(&by_name), 1, "{}", by_name.html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_its_csrf_token_is_refused() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let id = id_of(&app.file(&token, "objection", app.record_id(demo::REPAIRABLE).await).await);
    let office = Browser::new(&app);
    office.login("office").await;
    for form in [vec![], vec![("csrf", "forged-token")]] {
        let page = office.post(&format!("/cases/{id}/actions/accept"), &form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
        assert!(page.text().contains("表单已失效"), "{}", page.html);
    }
    let case = app.case(&app.login("office").await, id).await;
    assert_eq!(case["state"], "submitted", "nothing happened");
    // Logging out needs the token too; the login form its own.
    assert_eq!(office.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);
    let b = Browser::new(&app);
    let page = b.post("/login", &[("username", "office"), ("password", PASSWORD), ("csrf", "x")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_departments_case_is_a_404_page() {
    let app = spawn().await;
    let token = app.login("ent_a").await;
    let id = id_of(&app.file(&token, "objection", app.record_id(demo::REPAIRABLE).await).await);
    app.act(&app.login("office").await, id, "accept", json!({})).await.ok();
    let own = Browser::new(&app);
    own.login("sthj").await;
    own.get(&format!("/cases/{id}")).await.assert_ok();
    let other = Browser::new(&app);
    other.login("scjg").await;
    for path in [format!("/cases/{id}"), "/cases/999999".to_string()] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.html.contains("<html") && page.text().contains("页面不存在"), "{}", page.html);
    }
    // Another subject's case, to an applicant; an administrator page, to an officer.
    let ent_b = Browser::new(&app);
    ent_b.login("ent_b").await;
    assert_eq!(ent_b.get(&format!("/cases/{id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(other.get("/admin/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(other.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_or_idle_session_is_sent_to_the_login_page() {
    let app = spawn().await;
    let b = Browser::new(&app);
    let page = b.get("/my/records").await;
    assert_eq!(page.path, "/login?next=/my/records");
    assert!(page.text().contains("登录"));

    // Logged in, the login page sends the user back where it wanted to go.
    let form = b.get("/login?next=/cases?view=mine").await;
    let token = form.attr("input[name=csrf]", "value").unwrap();
    let next = form.attr("input[name=next]", "value").unwrap();
    let page =
        b.post("/login", &[("username", "ent_a"), ("password", PASSWORD), ("csrf", &token), ("next", &next)]).await;
    assert_eq!(page.path, "/cases?view=mine");

    // Logout ends the session on the server.
    let home = b.get("/my/records").await;
    home.assert_ok();
    let out = b.post("/logout", &[("csrf", &home.csrf())]).await;
    assert_eq!(out.path, "/login");
    assert_eq!(b.get("/my/records").await.path, "/login?next=/my/records");
    assert_eq!(entity::web_session::Entity::find().all(&app.state.db).await.unwrap().len(), 0);

    // 30 minutes without a request end a session.
    b.login("ent_a").await.assert_ok();
    app.clock.set(credit_repair::clock::Clock::now(&*app.clock) + chrono::Duration::minutes(29));
    b.get("/my/records").await.assert_ok();
    app.clock.set(credit_repair::clock::Clock::now(&*app.clock) + chrono::Duration::minutes(31));
    assert_eq!(b.get("/my/records").await.path, "/login?next=/my/records");
}

/// Every page reachable from each role's home renders (200) on demo data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_every_role_renders() {
    let app = spawn().await;
    // Some cases in every state a page shows.
    let ent_a = app.login("ent_a").await;
    let office = app.login("office").await;
    let open = id_of(&app.file(&ent_a, "objection", app.record_id(demo::TOO_EARLY).await).await);
    app.act(&office, open, "accept", json!({})).await.ok();
    let repair = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    app.act(&repair.officer, repair.id, "approve", json!({"comment": "准予"})).await.ok();

    let mut seen_total = 0;
    for user in [None, Some("ent_a"), Some("ent_c"), Some("sthj"), Some("office"), Some("admin")] {
        let b = Browser::new(&app);
        let start = match user {
            Some(u) => b.login(u).await.path,
            None => "/".to_string(),
        };
        let mut queue = VecDeque::from([start, "/guide".to_string()]);
        let mut seen = BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) || seen.len() > 80 {
                continue;
            }
            let page = b.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{user:?} {path}: {}", &page.html[..page.html.len().min(2000)]);
            for link in page.links() {
                let local = link.starts_with('/') && !link.starts_with("//");
                if local
                    && !link.contains("/attachments/")
                    && !link.starts_with("/static/")
                    && !link.starts_with("/api/")
                {
                    queue.push_back(link.replace("&amp;", "&"));
                }
            }
        }
        assert!(seen.len() >= 3, "{user:?}: only {seen:?}");
        seen_total += seen.len();
    }
    assert!(seen_total > 30, "{seen_total} pages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_security_headers_and_assets_are_served_locally() {
    let app = spawn().await;
    let res = app.client.get(app.url("/")).send().await.unwrap();
    let csp = res.headers().get("content-security-policy").unwrap().to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(res.headers().get("x-content-type-options").unwrap(), "nosniff");
    let html = res.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://"), "nothing is loaded from elsewhere");
    for (path, kind) in [("/static/app.css", "text/css"), ("/static/htmx.min.js", "text/javascript")] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert!(res.headers().get("content-type").unwrap().to_str().unwrap().starts_with(kind));
        assert!(res.text().await.unwrap().len() > 1000, "{path}");
    }
}

/// A case list's filter and order live in the query string: the same link
/// gives the same view, and an unknown order is a 400 page, not a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_lists_sort_and_filter_by_query_string() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let first = id_of(&app.file(&ent_a, "objection", app.record_id(demo::TOO_EARLY).await).await);
    let repair = app.accepted_repair("ent_c", demo::LIST_ENTRY).await;
    let b = Browser::new(&app);
    b.login("office").await;
    let cell = Selector::parse("tbody tr td:first-child a").unwrap();
    let ids = |p: &Page| -> Vec<i64> {
        p.doc().select(&cell).map(|a| case_id_of(a.value().attr("href").unwrap())).collect::<Vec<_>>()
    };
    let newest = b.get("/cases?view=all&sort=new").await;
    let oldest = b.get("/cases?view=all&sort=old").await;
    assert_eq!(ids(newest.assert_ok()), vec![repair.id, first]);
    assert_eq!(ids(oldest.assert_ok()), vec![first, repair.id]);
    let repairs = b.get("/cases?view=all&kind=repair&sort=old").await;
    assert_eq!(ids(repairs.assert_ok()), vec![repair.id]);
    // The order survives the filter form and the header links.
    assert!(repairs.attr("input[name=sort]", "value").as_deref() == Some("old"));
    assert!(repairs.links().iter().any(|l| l.contains("kind=repair") && l.contains("sort=new")));
    assert_eq!(b.get("/cases?view=all&sort=sideways").await.status, StatusCode::BAD_REQUEST);
}

/// The credit office urges a case from its page; the department's 待办
/// marks it with when and by whom.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_urged_case_is_marked_in_the_departments_todo() {
    let app = spawn().await;
    let ent_a = app.login("ent_a").await;
    let id = id_of(&app.file(&ent_a, "objection", app.record_id(demo::REPAIRABLE).await).await);
    app.act(&app.login("office").await, id, "accept", json!({})).await.ok();
    let office = Browser::new(&app);
    office.login("office").await;
    let case = office.get(&format!("/cases/{id}")).await;
    let version = case.attr("form[data-action=urge] input[name=version]", "value").expect("an urge form");
    let urged = office
        .post(
            &format!("/cases/{id}/actions/urge"),
            &[("csrf", &case.csrf()), ("version", &version), ("comment", "请抓紧办理")],
        )
        .await;
    assert!(urged.assert_ok().text().contains("已办理：催办"), "{}", urged.html);
    let dept = Browser::new(&app);
    dept.login("sthj").await;
    let todo = dept.get("/cases?view=todo").await;
    let today = credit_repair::clock::Clock::today(&*app.clock);
    let tag = format!("{today} 信用办 王科长 已催办");
    assert!(todo.assert_ok().text().contains(&tag), "{}", todo.html);
}

/// The producing department withdraws a record from its page; another
/// department does not see the page; an applicant sees it without the form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_withdraws_a_record_from_its_page() {
    let app = spawn().await;
    let record = app.record_id(demo::LIST_ENTRY).await;
    let path = format!("/records/{record}");
    let other = Browser::new(&app);
    other.login("scjg").await;
    assert_eq!(other.get(&path).await.status, StatusCode::NOT_FOUND);
    let owner = Browser::new(&app);
    owner.login("ent_c").await;
    let own = owner.get(&path).await;
    assert!(own.assert_ok().attr("form[action$='/withdraw']", "action").is_none(), "no withdraw form for applicants");

    let dept = Browser::new(&app);
    dept.login("sthj").await;
    let list = dept.get("/records").await;
    assert!(list.assert_ok().links().contains(&path), "the records list links to the record page");
    let page = dept.get(&path).await;
    let version =
        page.assert_ok().attr("form[action$='/withdraw'] input[name=version]", "value").expect("a withdraw form");
    let form_path = format!("{path}/withdraw");
    // Without a reason: the page again, with the error and what was typed.
    let refused = dept
        .post(
            &form_path,
            &[
                ("csrf", &page.csrf()),
                ("version", &version),
                ("revoking_document_no", "济高复决〔2026〕9号"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.html);
    assert!(refused.text().contains("撤回理由不能为空"), "{}", refused.html);
    assert_eq!(refused.attr("#w-doc", "value").as_deref(), Some("济高复决〔2026〕9号"));
    let done = dept
        .post(
            &form_path,
            &[
                ("csrf", &page.csrf()),
                ("version", &version),
                ("revoking_document_no", "济高复决〔2026〕9号"),
                ("reason", "复议撤销"),
            ],
        )
        .await;
    assert_eq!(done.assert_ok().path, format!("{path}?done=withdraw"));
    assert!(done.text().contains("该信息已依法撤回") && done.text().contains("依法撤回"), "{}", done.html);
    assert!(done.attr("form[action$='/withdraw']", "action").is_none(), "withdrawn once");
    let office = app.login("office").await;
    assert_eq!(app.record(&office, record).await["deleted"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bell_shows_unread_messages_and_opening_one_reads_it() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let ent = Browser::new(&app);
    ent.login("ent_a").await.assert_ok();
    let home = ent.get("/my/records").await;
    assert_eq!(
        home.doc().select(&Selector::parse("#bell .badge").unwrap()).next().map(|e| e.text().collect::<String>()),
        Some("2".into())
    );
    let list = ent.get("/messages").await;
    list.assert_ok();
    assert!(list.text().contains("已受理"), "{}", list.html);
    // Opening a message marks it read and leads to its case.
    let form = list.attr("form[action$='/open']", "action").unwrap();
    let opened = ent.post(&form, &[("csrf", &list.csrf())]).await;
    assert!(opened.path.starts_with(&format!("/cases/{}", r.id)), "{}", opened.path);
    let again = ent.get("/messages").await;
    assert_eq!(
        again.doc().select(&Selector::parse("#bell .badge").unwrap()).next().map(|e| e.text().collect::<String>()),
        Some("1".into())
    );
    // Turning mail off keeps the list.
    ent.post("/messages/preferences", &[("csrf", &again.csrf())]).await;
    let token = app.login("ent_a").await;
    assert_eq!(app.get("/api/v1/me/preferences", &token).await.ok()["mail_enabled"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_the_dashboard_download_as_spreadsheets() {
    let app = spawn().await;
    app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let office = Browser::new(&app);
    office.login("office").await.assert_ok();
    let page = office.get("/cases?view=all&kind=repair").await;
    let href = page.attr("#export-xlsx", "href").expect("an export link");
    assert!(href.contains("kind=repair"), "{href}");
    let res = office.client.get(app.url(&href)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().contains("spreadsheetml"));
    assert!(res.bytes().await.unwrap().starts_with(b"PK"), "an xlsx is a zip");
    let dash = office.get("/office/dashboard").await;
    let href = dash.attr("#export-statistics", "href").expect("a statistics link");
    let res = office.client.get(app.url(&href)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // An applicant cannot download the statistics.
    let ent = Browser::new(&app);
    ent.login("ent_a").await;
    let res = ent.client.get(app.url("/office/statistics?format=xlsx")).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_checks_and_imports_a_file_in_its_pages() {
    let app = spawn().await;
    let b = Browser::new(&app);
    b.login("sthj").await.assert_ok();
    let page = b.get("/imports").await;
    page.assert_ok();
    assert!(page.links().contains(&"/imports/template".to_string()));
    let csrf = page.csrf();
    let csv = "统一社会信用代码,主体名称,信息类型,信息名称,失信程度,决定书文号,决定日期\n\
               91350100M000100Y43,泉城示例建材有限公司,行政处罚,噪声超标,一般,济环罚〔2026〕501号,2026-09-01\n\
               91350100M000100Y43,泉城示例建材有限公司,行政处罚,,一般,济环罚〔2026〕502号,2026-09-02\n";
    let form = |mode: &str, body: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("mode", mode.to_string())
            .part("file", reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name("处罚.csv"))
    };
    // Checked: the bad row is shown with its row and column; nothing written.
    let checked = b.post_multipart("/imports", form("check", csv)).await;
    checked.assert_ok();
    let errors = Selector::parse("#import-errors tbody tr").unwrap();
    let rows: Vec<String> = checked.doc().select(&errors).map(|r| r.text().collect::<String>()).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains('3') && rows[0].contains("信息名称"), "{rows:?}");
    assert!(checked.links().iter().any(|l| l.ends_with("/annotated")));
    // Applied: refused as a whole (422), the same error shown.
    let refused = b.post_multipart("/imports", form("apply", csv)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("导入未执行"), "{}", refused.text());
    // The good row alone is imported; the record's history links the import.
    let good: String = csv.lines().take(2).map(|l| format!("{l}\n")).collect();
    let done = b.post_multipart("/imports", form("apply", &good)).await;
    done.assert_ok();
    assert!(done.text().contains("导入完成"), "{}", done.text());
    let sthj = app.login("sthj").await;
    let id = app.get("/api/v1/records?per_page=100", &sthj).await.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["document_no"] == "济环罚〔2026〕501号")
        .expect("imported record")["id"]
        .as_i64()
        .unwrap();
    let record = b.get(&format!("/records/{id}")).await;
    record.assert_ok();
    assert!(record.links().iter().any(|l| l.starts_with("/imports/")), "the history links the import");
    assert!(record.text().contains("批量导入第"));
    // Another department's officer has its own (empty) list; applicants may not import.
    let other = Browser::new(&app);
    other.login("yjgl").await;
    assert!(!other.get("/imports").await.text().contains("处罚.csv"));
    let ent = Browser::new(&app);
    ent.login("ent_a").await;
    assert_eq!(ent.get("/imports").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_are_managed_and_failed_deliveries_resent_in_pages() {
    let app = spawn().await;
    let platform = crate::receiver::Receiver::start(&[503]);
    let admin = Browser::new(&app);
    admin.login("admin").await;
    let page = admin.get("/admin/subscribers").await;
    page.assert_ok();
    let csrf = page.csrf();
    let created = admin
        .post(
            "/admin/subscribers",
            &[
                ("csrf", &csrf),
                ("name", "市信用平台"),
                ("kind", "http"),
                ("target", &platform.url),
                ("secret", "a-long-enough-signing-secret"),
                ("events", "*"),
            ],
        )
        .await;
    created.assert_ok();
    assert!(created.path.contains("done=1") && created.text().contains("市信用平台"), "{}", created.path);
    let short = admin
        .post(
            "/admin/subscribers",
            &[("csrf", &csrf), ("name", "x"), ("kind", "http"), ("target", &platform.url), ("secret", "short")],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().contains("签名密钥"), "{}", short.text());

    // A repair approval is sent and refused by the platform.
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "approve", json!({"comment": "同意修复"})).await.ok();
    let mailer = credit_repair::mailer::Mailer::from_settings(&app.state.settings).unwrap();
    credit_repair::jobs::tick(&app.state, &mailer, "worker-1").await.unwrap();
    assert_eq!(platform.got().len(), 1);

    let office = Browser::new(&app);
    office.login("office").await;
    let list = office.get("/office/deliveries").await;
    list.assert_ok();
    let rows = Selector::parse("#deliveries tbody tr").unwrap();
    let texts: Vec<String> = list.doc().select(&rows).map(|r| r.text().collect::<String>()).collect();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("市信用平台") && texts[0].contains("失败待重试") && texts[0].contains("503"),
        "{texts:?}"
    );
    // The record's and the case's pages show the sync status.
    for path in [format!("/records/{}", r.record_id), format!("/cases/{}", r.id)] {
        let p = office.get(&path).await;
        p.assert_ok();
        let sync = Selector::parse("#sync-status").unwrap();
        let text: String = p.doc().select(&sync).flat_map(|e| e.text()).collect();
        assert!(text.contains("市信用平台") && text.contains("失败待重试"), "{path}: {text}");
    }
    // Re-sent from the page: queued again.
    let action = list.attr("#deliveries form", "action").expect("resend form");
    let resent = office.post(&action, &[("csrf", &list.csrf())]).await;
    resent.assert_ok();
    assert!(resent.text().contains("已安排重新发送"), "{}", resent.text());
    let pending = office.get("/office/deliveries?status=pending").await;
    assert!(pending.text().contains("待发送"), "{}", pending.text());

    // The administrator disables the subscriber.
    let page = admin.get("/admin/subscribers").await;
    let toggle = page.attr("#subscribers form.inline", "action").expect("toggle form");
    let off = admin.post(&toggle, &[("csrf", &page.csrf()), ("active", "off")]).await;
    off.assert_ok();
    assert!(off.text().contains("停用"), "{}", off.text());
}
