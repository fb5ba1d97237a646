//! `ecmo demo --serve`, the README's main command: builds the registry, fits the two
//! models, creates the demonstration accounts and serves the web application, which a
//! clinician account can then sign in to and read the registry's runs from.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// One HTTP/1.1 request on a fresh connection; (status, headers, body).
fn http(addr: &str, method: &str, path: &str, cookie: Option<&str>, body: Option<&str>) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn demo_serve_fits_models_creates_accounts_and_serves_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecmo"))
        .args(["demo", "--patients", "40", "--serve", "--addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut password, mut addr) = (None, None);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line.strip_prefix("with the password ") {
            password = p.split_whitespace().next().map(str::to_string);
        }
        if let Some(rest) = line.split("listening on http://").nth(1) {
            addr = rest.split('/').next().map(str::to_string);
            break;
        }
        seen.push(line);
    }
    let result = std::panic::catch_unwind(|| {
        let addr = addr.clone().unwrap_or_else(|| panic!("the server did not start; output:\n{}", seen.join("\n")));
        let password = password.clone().expect("a demo password is printed");
        assert!(dir.path().join("models/weaning.json").exists() && dir.path().join("models/vis.json").exists());

        let (status, _, _) = http(&addr, "GET", "/api/runs", None, None);
        assert_eq!(status, 401, "the patient list needs an account");
        let login = format!(r#"{{"name":"demo-clinician","password":"{password}"}}"#);
        let (status, head, body) = http(&addr, "POST", "/api/login", None, Some(&login));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("clinician"), "{body}");
        let cookie = head
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        // The patient list is computed once at start (503 with progress until then).
        let mut answer = http(&addr, "GET", "/api/runs?per_page=100", Some(&cookie), None);
        for _ in 0..300 {
            if answer.0 != 503 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            answer = http(&addr, "GET", "/api/runs?per_page=100", Some(&cookie), None);
        }
        let (status, _, body) = answer;
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["total"], 40, "{v}");

        let wrong = r#"{"name":"demo-clinician","password":"not-the-password"}"#;
        assert_eq!(http(&addr, "POST", "/api/login", None, Some(wrong)).0, 401);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
