//! Views of a workflow definition for people: the main path a case takes
//! from a state, and a diagram of every state and transition as SVG. Both are
//! derived from the definition alone (no database, clock or I/O).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write;

use super::{Definition, Role};

impl Definition {
    /// The states a case in `state` still passes on its main path: from each
    /// state the first transition (in file order) that its owner takes to
    /// another state, until a terminal state (or a state already listed).
    pub fn path_ahead(&self, state: &str) -> Vec<String> {
        let mut path: Vec<String> = Vec::new();
        let mut current = state.to_string();
        while let Some(st) = self.state(&current) {
            if st.terminal {
                break;
            }
            let Some(owner) = st.owner else { break };
            let next = self
                .transitions_from(&current)
                .find(|t| t.to != current && t.roles.contains(&owner) && owner != Role::System)
                .map(|t| t.to.clone());
            match next {
                Some(n) if n != state && !path.contains(&n) => {
                    path.push(n.clone());
                    current = n;
                }
                _ => break,
            }
        }
        path
    }

    /// Columns of states by their distance from the initial state.
    fn layers(&self) -> Vec<Vec<&str>> {
        let mut depth: BTreeMap<&str, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([(self.initial.as_str(), 0usize)]);
        while let Some((s, d)) = queue.pop_front() {
            if depth.contains_key(s) {
                continue;
            }
            depth.insert(s, d);
            for t in self.transitions_from(s) {
                if !depth.contains_key(t.to.as_str()) {
                    queue.push_back((t.to.as_str(), d + 1));
                }
            }
        }
        let unreachable = depth.values().max().map_or(0, |m| m + 1);
        let mut layers: Vec<Vec<&str>> = Vec::new();
        for name in self.states.keys() {
            let d = depth.get(name.as_str()).copied().unwrap_or(unreachable);
            if layers.len() <= d {
                layers.resize(d + 1, Vec::new());
            }
            layers[d].push(name.as_str());
        }
        layers.retain(|l| !l.is_empty());
        layers
    }

    /// The workflow as an SVG diagram: states as boxes in columns (by their
    /// distance from the initial state), transitions as arrows labelled with
    /// the action's title; `highlight` marks a case's current state.
    pub fn diagram_svg(&self, highlight: Option<&str>) -> String {
        const W: i32 = 150;
        const H: i32 = 44;
        const GAP_X: i32 = 90;
        const GAP_Y: i32 = 36;
        let layers = self.layers();
        let mut pos: BTreeMap<&str, (i32, i32)> = BTreeMap::new();
        let rows = layers.iter().map(Vec::len).max().unwrap_or(1) as i32;
        for (col, layer) in layers.iter().enumerate() {
            for (row, name) in layer.iter().enumerate() {
                pos.insert(name, (20 + col as i32 * (W + GAP_X), 30 + row as i32 * (H + GAP_Y)));
            }
        }
        let width = 40 + layers.len() as i32 * (W + GAP_X) - GAP_X;
        let height = 60 + rows * (H + GAP_Y);
        let mut svg = String::new();
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}流程图" font-family="sans-serif" font-size="12"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5b6b7f"/></marker></defs>"##,
            esc(&self.title)
        );
        // Edges: one per (from, to) pair, labelled with the distinct action titles.
        let mut edges: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for t in &self.transitions {
            for f in &t.from {
                let titles = edges.entry((f.as_str(), t.to.as_str())).or_default();
                if !titles.contains(&t.title.as_str()) {
                    titles.push(t.title.as_str());
                }
            }
        }
        for ((from, to), titles) in &edges {
            let (Some(&(fx, fy)), Some(&(tx, ty))) = (pos.get(from), pos.get(to)) else { continue };
            let label = esc(&titles.join("/"));
            if from == to {
                let _ = write!(
                    svg,
                    r##"<path d="M{} {} q 30 -40 60 0" fill="none" stroke="#5b6b7f" marker-end="url(#arrow)"/><text x="{}" y="{}" fill="#33475b">{label}</text>"##,
                    fx + W / 2 - 30,
                    fy,
                    fx + W / 2 - 28,
                    fy - 22
                );
                continue;
            }
            let (x1, y1, x2, y2) = if tx > fx {
                (fx + W, fy + H / 2, tx, ty + H / 2)
            } else if tx < fx {
                (fx, fy + H / 2 + 6, tx + W, ty + H / 2 + 6)
            } else if ty > fy {
                (fx + W / 2, fy + H, tx + W / 2, ty)
            } else {
                (fx + W / 2 + 10, fy, tx + W / 2 + 10, ty + H)
            };
            let _ = write!(
                svg,
                r##"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#5b6b7f" marker-end="url(#arrow)"/><text x="{}" y="{}" fill="#33475b" text-anchor="middle">{label}</text>"##,
                (x1 + x2) / 2,
                (y1 + y2) / 2 - 4
            );
        }
        for (name, st) in &self.states {
            let Some(&(x, y)) = pos.get(name.as_str()) else { continue };
            let current = highlight == Some(name.as_str());
            let (fill, stroke) = match (current, st.terminal) {
                (true, _) => ("#fff4d6", "#c47f00"),
                (false, true) => ("#eef3ee", "#5d8a5d"),
                (false, false) => ("#eef3fb", "#3a6ea5"),
            };
            let width = if current { 3 } else { 1 };
            let _ = write!(
                svg,
                r##"<g class="state{}" data-state="{}"><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/><text x="{}" y="{}" text-anchor="middle" font-size="13" fill="#1f2d3d">{}</text></g>"##,
                if current { " current" } else { "" },
                esc(name),
                x + W / 2,
                y + H / 2 + 5,
                esc(&st.title)
            );
        }
        svg.push_str("</svg>");
        svg
    }
}

/// Escapes text for SVG/XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use crate::workflow::{Definition, builtin_sources};

    fn def(name: &str) -> Definition {
        let (file, src) = builtin_sources().into_iter().find(|(f, _)| f.starts_with(name)).unwrap();
        Definition::parse(file, src).unwrap()
    }

    #[test]
    fn main_path_follows_the_owner_of_each_state() {
        let repair = def("repair");
        assert_eq!(repair.path_ahead("submitted"), ["with_department", "completed"]);
        assert_eq!(repair.path_ahead("with_department"), ["completed"]);
        assert_eq!(repair.path_ahead("supplement_requested"), ["submitted", "with_department", "completed"]);
        assert!(repair.path_ahead("completed").is_empty());
        let objection = def("objection");
        assert_eq!(objection.path_ahead("submitted"), ["with_department", "closed_resolved"]);
    }

    #[test]
    fn diagram_shows_every_state_and_marks_the_current_one() {
        let repair = def("repair");
        let svg = repair.diagram_svg(Some("with_department"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for st in repair.states.values() {
            assert!(svg.contains(&st.title), "{}", st.title);
        }
        assert_eq!(svg.matches("state current").count(), 1);
        assert!(svg.contains(r#"data-state="with_department""#));
        assert!(svg.contains("受理") && svg.contains("撤销"));
        assert!(!repair.diagram_svg(None).contains("state current"));
    }
}
