//! docker-compose.yml's setup, run without Docker: the real Jaeger as its
//! image runs it (the binary with no configuration, so its built-in
//! all-in-one one, listening on `JAEGER_LISTEN_HOST`), and the three demo
//! services as the compose file starts them, each a process of the demo
//! example with the role from its `command` and the variables from its
//! `environment`; the compose service names resolve to 127.0.0.1 here. One
//! request to the frontend (the one the compose file's header gives) makes
//! one trace across the three services in Jaeger: the frontend and the
//! worker reporting to the agent port over UDP, the api to the collector
//! over HTTP, as configured there.
//!
//! It needs the Jaeger binary (`scripts/build-jaeger.sh`, cached) and the
//! ports the compose file publishes free, so it stops nothing and runs
//! after `scripts/jaeger.sh stop`:
//!
//! ```sh
//! cargo test --all-features --test compose_setup_real_jaeger -- --ignored
//! ```

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "support/compose.rs"]
mod compose_file;
use compose_file::{compose, env_of};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A child process killed when the test ends, however it ends.
struct Running(Child, &'static str);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.0.try_wait() {
            panic!(
                "{} exited early ({status}); its output is under target/compose-setup/",
                self.1
            );
        }
    }
}

/// A variable of the compose file as it reads here: the compose network's
/// service names, as a `*_HOST` value or a URL's host, and the any-address
/// are this machine's loopback.
fn on_loopback(key: &str, value: &str, services: &[String]) -> String {
    let mut v = value.replace("0.0.0.0", "127.0.0.1");
    for s in services {
        if key.ends_with("_HOST") && v == *s {
            v = "127.0.0.1".into();
        }
        v = v.replace(&format!("//{s}:"), "//127.0.0.1:");
    }
    v
}

/// Output of a process, in a file under target/compose-setup/.
fn log_file(name: &str) -> std::fs::File {
    let dir = Path::new(ROOT).join("target/compose-setup");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join(format!("{name}.log"))).unwrap()
}

fn jaeger_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("JAEGER_BIN") {
        return bin.into();
    }
    let out = Command::new(Path::new(ROOT).join("scripts/build-jaeger.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/build-jaeger.sh runs");
    assert!(out.status.success(), "scripts/build-jaeger.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The demo example, built as the Dockerfile builds it (in debug here).
fn demo_binary() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .current_dir(ROOT)
        .args(["build", "-q", "--example", "demo", "--message-format=json"])
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the demo example does not build");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "demo")
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the demo's executable")
}

/// A GET's status and body, or None when nothing answers.
fn get(url: &str) -> Option<(u16, Vec<u8>)> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let rt = RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap());
    rt.block_on(async {
        let r = reqwest::get(url).await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.bytes().await.ok()?.to_vec()))
    })
}

fn get_json(url: &str) -> Option<Value> {
    match get(url)? {
        (200, body) => serde_json::from_slice(&body).ok(),
        _ => None,
    }
}

fn tag_value<'a>(tags: &'a Value, key: &str) -> Option<&'a Value> {
    tags.as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .map(|t| &t["value"])
}

#[test]
#[ignore = "needs the real Jaeger binary and the compose file's ports free: after scripts/jaeger.sh stop"]
fn the_compose_setup_makes_one_trace_across_three_services_in_jaeger() {
    let compose = compose();
    let services_yaml = compose["services"].as_mapping().unwrap();
    let names: Vec<String> = services_yaml
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    // The ports the compose file publishes, all of which Jaeger's own
    // configuration here must take.
    for port in ["16686", "14268", "5778", "8080"] {
        assert!(
            TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err(),
            "something already listens on 127.0.0.1:{port}: stop it first (scripts/jaeger.sh stop)"
        );
    }

    // Jaeger as the image runs it: no configuration, listening on all of
    // the container's addresses (here, loopback's).
    let mut jaeger = Running(
        Command::new(jaeger_binary())
            .env("JAEGER_LISTEN_HOST", "127.0.0.1")
            .stdout(log_file("jaeger"))
            .stderr(log_file("jaeger.err"))
            .spawn()
            .expect("the Jaeger binary starts"),
        "jaeger",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_json("http://127.0.0.1:16686/api/services").is_none() {
        jaeger.assert_alive();
        assert!(
            Instant::now() < deadline,
            "Jaeger's query API never answered"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The demo services, each with the role and environment compose gives
    // it, and nothing of this test's own JAEGER_* variables.
    let demo = demo_binary();
    let mut processes = Vec::new();
    for name in ["worker", "api", "frontend"] {
        let service = &compose["services"][name];
        assert_eq!(
            service["build"].as_str(),
            Some("."),
            "{name} is built from this repository"
        );
        let role = service["command"][0]
            .as_str()
            .expect("a role as the command");
        let env: BTreeMap<String, String> = env_of(service)
            .into_iter()
            .map(|(k, v)| {
                let v = on_loopback(&k, &v, &names);
                (k, v)
            })
            .collect();
        let mut command = Command::new(&demo);
        command.arg(role).env("RUST_LOG", "warn");
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("JAEGER_")) {
            command.env_remove(k);
        }
        let child = command
            .envs(&env)
            .stdout(log_file(name))
            .stderr(log_file(&format!("{name}.err")))
            .spawn()
            .unwrap();
        processes.push(Running(child, name));
    }

    // The request of the compose file's header, once the frontend answers.
    let header = std::fs::read_to_string(Path::new(ROOT).join("docker-compose.yml")).unwrap();
    let url = header
        .lines()
        .find_map(|l| {
            let start = l.find("'http://localhost:8080/")?;
            let rest = &l[start + 1..];
            Some(rest[..rest.find('\'')?].replace("localhost", "127.0.0.1"))
        })
        .expect("docker-compose.yml's header names a request to the frontend");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        for p in &mut processes {
            p.assert_alive();
        }
        if let Some((status, _)) = get(&url) {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the frontend never answered {url}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status, 200, "{url}");

    // One trace holding the three services' spans, the worker's job
    // included (it runs after the api has answered).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Value::Null;
    let trace = loop {
        assert!(
            Instant::now() < deadline,
            "no trace across frontend, api and worker in Jaeger; services {:?}, the frontend's traces: {seen}",
            get_json("http://127.0.0.1:16686/api/services")
        );
        std::thread::sleep(Duration::from_millis(300));
        let Some(v) = get_json("http://127.0.0.1:16686/api/traces?service=frontend&limit=20")
        else {
            continue;
        };
        seen = v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                let ops: Vec<&Value> = t["spans"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| &s["operationName"])
                    .collect();
                serde_json::json!({"processes": t["processes"].as_object().map_or(0, |p| p.len()), "spans": ops})
            })
            .collect();
        let found = v["data"].as_array().into_iter().flatten().find(|t| {
            t["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["operationName"] == "process job"))
                && t["processes"].as_object().is_some_and(|p| p.len() == 3)
        });
        if let Some(t) = found {
            break t.clone();
        }
    };
    let processes_json = trace["processes"].as_object().unwrap();
    let process_of = |service: &str| {
        processes_json
            .values()
            .find(|p| p["serviceName"] == service)
            .unwrap_or_else(|| panic!("no {service} process in {trace}"))
    };
    // JAEGER_TAGS as compose sets it, its ${DEMO_VERSION:-dev} included.
    let frontend = process_of("frontend");
    assert_eq!(
        tag_value(&frontend["tags"], "deployment"),
        Some(&Value::from("compose"))
    );
    assert_eq!(
        tag_value(&frontend["tags"], "version"),
        Some(&Value::from("dev"))
    );
    process_of("api");
    process_of("worker");
    let spans = trace["spans"].as_array().unwrap();
    let root = spans
        .iter()
        .find(|s| s["references"].as_array().is_none_or(|r| r.is_empty()))
        .expect("a root span");
    assert_eq!(root["operationName"], "GET /checkout");
    assert_eq!(
        tag_value(&root["tags"], "sampler.type"),
        Some(&Value::from("const"))
    );
    // Every span of the trace hangs from one of its spans.
    let ids: Vec<&Value> = spans.iter().map(|s| &s["spanID"]).collect();
    for s in spans {
        for r in s["references"].as_array().into_iter().flatten() {
            assert_eq!(r["traceID"], trace["traceID"]);
            assert!(ids.contains(&&r["spanID"]), "dangling reference in {s}");
        }
    }
    assert!(
        spans.len() >= 5,
        "frontend, api and worker spans: {}",
        spans.len()
    );
}
