//! docker-compose.yml agrees with the code: a pinned Jaeger v2 image that
//! publishes the UI and the ports the crate sends to by default; demo
//! services built from this repository (the Dockerfile builds the demo
//! example) and configured through JAEGER_* variables that the crate
//! accepts, pointing at the compose services; the Dockerfile's Rust image
//! builds every package the demo example needs.

use jaeger_tracer::{TracerBuilder, DEFAULT_AGENT_PORT_BINARY, DEFAULT_AGENT_PORT_COMPACT};

#[path = "support/compose.rs"]
mod compose_file;
use compose_file::{compose, env_of};

const KNOWN_JAEGER_VARS: &[&str] = &[
    jaeger_tracer::ENV_SERVICE_NAME,
    jaeger_tracer::ENV_DISABLED,
    jaeger_tracer::ENV_AGENT_HOST,
    jaeger_tracer::ENV_AGENT_PORT,
    jaeger_tracer::ENV_ENDPOINT,
    jaeger_tracer::ENV_USER,
    jaeger_tracer::ENV_PASSWORD,
    jaeger_tracer::ENV_AUTH_TOKEN,
    jaeger_tracer::ENV_TAGS,
    jaeger_tracer::ENV_TRACEID_128BIT,
    jaeger_tracer::ENV_SAMPLER_TYPE,
    jaeger_tracer::ENV_SAMPLER_PARAM,
    jaeger_tracer::ENV_SAMPLING_ENDPOINT,
    jaeger_tracer::ENV_SAMPLER_MAX_OPERATIONS,
    jaeger_tracer::ENV_SAMPLER_REFRESH_INTERVAL,
    jaeger_tracer::ENV_REPORTER_MAX_QUEUE_SIZE,
    jaeger_tracer::ENV_REPORTER_FLUSH_INTERVAL,
    jaeger_tracer::ENV_REPORTER_LOG_SPANS,
    jaeger_tracer::ENV_PROPAGATION,
];

#[test]
fn jaeger_image_is_pinned_v2_and_publishes_the_crate_ports() {
    let c = compose();
    let jaeger = &c["services"]["jaeger"];
    let image = jaeger["image"].as_str().unwrap();
    let tag = image
        .strip_prefix("jaegertracing/jaeger:")
        .expect("the official image");
    let parts: Vec<&str> = tag.split('.').collect();
    assert_eq!(parts.len(), 3, "a pinned x.y.z tag, not {tag}");
    assert_eq!(parts[0], "2", "Jaeger v2");
    let ports: Vec<&str> = jaeger["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    for needed in [
        "16686:16686".to_string(),
        format!("{0}:{0}/udp", DEFAULT_AGENT_PORT_COMPACT),
        format!("{0}:{0}/udp", DEFAULT_AGENT_PORT_BINARY),
        "14268:14268".to_string(),
        "5778:5778".to_string(),
    ] {
        assert!(
            ports.contains(&needed.as_str()),
            "port {needed} not published: {ports:?}"
        );
    }
}

#[test]
fn demo_services_are_built_here_and_configured_by_jaeger_variables() {
    let c = compose();
    let services = c["services"].as_mapping().unwrap();
    let names: Vec<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    assert!(dockerfile.contains("cargo build --release --example demo"));
    let mut roles = Vec::new();
    for (name, svc) in services {
        let name = name.as_str().unwrap();
        if name == "jaeger" {
            continue;
        }
        assert_eq!(
            svc["build"].as_str(),
            Some("."),
            "{name} is built from this repository"
        );
        let role = svc["command"][0].as_str().unwrap();
        assert!(
            ["frontend", "api", "worker"].contains(&role),
            "{name}: role {role}"
        );
        roles.push(role);
        let env = env_of(svc);
        for k in env.keys() {
            assert!(
                KNOWN_JAEGER_VARS.contains(&k.as_str()) || k.starts_with("DEMO_"),
                "{name}: {k} is neither a JAEGER_* variable of the crate nor a demo setting"
            );
        }
        // The crate accepts the configuration as written.
        let builder = TracerBuilder::from_lookup(|k| env.get(k).cloned())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(format!("{builder:?}")
            .contains(&format!("service_name: {:?}", env["JAEGER_SERVICE_NAME"])));
        // Every address points at a compose service.
        if let Some(host) = env.get("JAEGER_AGENT_HOST") {
            assert_eq!(host, "jaeger");
            assert_eq!(
                env["JAEGER_AGENT_PORT"],
                DEFAULT_AGENT_PORT_COMPACT.to_string()
            );
        }
        for (k, v) in &env {
            if let Some(rest) = v.strip_prefix("http://") {
                let host = rest.split([':', '/']).next().unwrap();
                assert!(names.contains(&host), "{name}: {k}={v} names no service");
            }
        }
        if let Some(ep) = env.get("JAEGER_ENDPOINT") {
            assert_eq!(ep, "http://jaeger:14268/api/traces");
        }
    }
    roles.sort_unstable();
    assert_eq!(roles, ["api", "frontend", "worker"]);
}

/// `major.minor` of a version string (`1.91.0` → (1, 91)).
fn major_minor(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[test]
fn the_dockerfile_rust_image_builds_every_package_the_demo_needs() {
    // Building an example builds every dev-dependency too (the peers of
    // the benches among them), so the image's Rust must be at least the
    // newest `rust-version` in the lock file.
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let image = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("FROM rust:"))
        .expect("a rust build image");
    let image_version = major_minor(image.split('-').next().unwrap());
    let out = std::process::Command::new(env!("CARGO"))
        // The packages built for the image's Linux platform only: the
        // others (wasm, Windows) may not be downloaded here, and offline
        // their manifests cannot be read.
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            "x86_64-unknown-linux-gnu",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (needed, by) = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| {
            Some((
                major_minor(p["rust_version"].as_str()?),
                p["name"].as_str()?,
            ))
        })
        .max()
        .unwrap();
    assert!(
        image_version >= needed,
        "the Dockerfile builds with rust:{image} but {by} needs {}.{}",
        needed.0,
        needed.1
    );
}
