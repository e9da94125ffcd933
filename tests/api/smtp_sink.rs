//! A small SMTP server on loopback for tests: it accepts every message and
//! keeps it (envelope recipients and the raw data) for assertions.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub data: String,
}

impl Received {
    /// The Subject header, with RFC 2047 encoded words decoded.
    pub fn subject(&self) -> String {
        let mut lines = self.data.lines().skip_while(|l| !l.to_ascii_lowercase().starts_with("subject:"));
        let mut raw =
            lines.next().unwrap_or("").trim_start_matches(|c| c != ':').trim_start_matches(':').trim().to_string();
        for l in lines {
            if l.starts_with(' ') || l.starts_with('\t') {
                raw.push(' ');
                raw.push_str(l.trim());
            } else {
                break;
            }
        }
        decode_words(&raw)
    }

    /// The decoded text of every body part (base64 parts decoded), joined.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in self.data.split("\r\n--") {
            let Some((headers, body)) = part.split_once("\r\n\r\n") else { continue };
            if headers.to_ascii_lowercase().contains("content-transfer-encoding: base64") {
                let joined: String = body.lines().take_while(|l| !l.starts_with("--")).collect();
                out.push_str(&String::from_utf8_lossy(&b64(&joined)));
            } else {
                out.push_str(body);
            }
            out.push('\n');
        }
        out
    }
}

fn decode_words(s: &str) -> String {
    let mut out = String::new();
    for word in s.split_whitespace() {
        if let Some(inner) = word.strip_prefix("=?").and_then(|w| w.strip_suffix("?=")) {
            let parts: Vec<&str> = inner.splitn(3, '?').collect();
            if parts.len() == 3 && parts[1].eq_ignore_ascii_case("b") {
                out.push_str(&String::from_utf8_lossy(&b64(parts[2])));
                continue;
            }
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn b64(s: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = T.iter().position(|&t| t == c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

pub struct SmtpSink {
    pub port: u16,
    pub messages: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp sink");
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = sock.into_split();
                    let mut r = BufReader::new(r);
                    let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                    let mut rcpt = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            break;
                        }
                        let cmd = line.trim_end().to_string();
                        let upper = cmd.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                        } else if upper.starts_with("HELO")
                            || upper.starts_with("MAIL FROM")
                            || upper.starts_with("RSET")
                            || upper.starts_with("NOOP")
                        {
                            b"250 OK\r\n"
                        } else if upper.starts_with("RCPT TO") {
                            let addr = cmd[8..].trim().trim_start_matches(':').trim().trim_start_matches('<');
                            rcpt.push(addr.split('>').next().unwrap_or("").to_string());
                            b"250 OK\r\n"
                        } else if upper == "DATA" {
                            let _ = w.write_all(b"354 go ahead\r\n").await;
                            let mut data = String::new();
                            loop {
                                let mut l = String::new();
                                if r.read_line(&mut l).await.unwrap_or(0) == 0 || l == ".\r\n" {
                                    break;
                                }
                                data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                            }
                            store.lock().unwrap().push(Received { rcpt: std::mem::take(&mut rcpt), data });
                            b"250 queued\r\n"
                        } else if upper == "QUIT" {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"502 not implemented\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpSink { port, messages }
    }

    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }
}
