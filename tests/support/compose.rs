//! docker-compose.yml as compose reads it, for the tests that check it
//! (`compose_file_matches_code.rs`) and run its setup
//! (`compose_setup_real_jaeger.rs`).

use std::collections::BTreeMap;

use serde_yaml::Value;

/// The parsed compose file.
pub fn compose() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docker-compose.yml"))
        .unwrap();
    serde_yaml::from_str(&text).expect("docker-compose.yml is valid YAML")
}

/// Compose's own interpolation of `${VAR:-default}` (unset variables).
fn interpolate(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closed ${") + start;
        let inner = &rest[start + 2..end];
        out.push_str(inner.split_once(":-").map_or("", |(_, d)| d));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// A service's `environment`, interpolated.
pub fn env_of(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_mapping()
        .expect("environment as a mapping")
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("unexpected value {other:?}"),
            };
            (k.as_str().unwrap().to_owned(), interpolate(&v))
        })
        .collect()
}
