//! The remote sampler against a real HTTP server on 127.0.0.1 that serves
//! strategies, changes them, fails and returns garbage: a new strategy
//! applies within one refresh interval, the last good one survives failures
//! and garbage, and per-operation rates apply per operation with the lower
//! bound; an answer too large for a strategy is refused.

mod support;
#[path = "../src/thrift/mod.rs"]
#[allow(dead_code, clippy::all)]
mod thrift;

mod env_vars;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jaeger_tracer::sampler::{RemoteSampler, Sampler};
use jaeger_tracer::{TraceId, Tracer, TracerBuilder};
use support::http::{HttpServer, Reply};

const INTERVAL: Duration = Duration::from_millis(500);

fn sampled_fraction(s: &RemoteSampler, op: &str) -> f64 {
    let n = 2000u64;
    let hits = (1..=n)
        .filter(|i| {
            s.should_sample(TraceId::new(0, i.wrapping_mul(0x9e37_79b9_7f4a_7c15)), op)
                .sampled
        })
        .count();
    hits as f64 / n as f64
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    None
}

#[test]
fn follows_changes_and_survives_failures_and_garbage() {
    let answer = Arc::new(Mutex::new(Reply::Status(
        200,
        br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1.0}}"#
            .to_vec(),
    )));
    let a = answer.clone();
    let server = HttpServer::start(move |_| match &*a.lock().unwrap() {
        Reply::Status(c, b) => Reply::Status(*c, b.clone()),
        Reply::Hang => Reply::Hang,
        Reply::Close => Reply::Close,
        Reply::WithHeaders(c, h) => Reply::WithHeaders(*c, h.clone()),
    });
    let sampler = RemoteSampler::builder("svc-a")
        .with_endpoint(server.url("/sampling"))
        .with_refresh_interval(INTERVAL)
        .with_initial_rate(0.0)
        .start()
        .unwrap();

    // Polled at start, not after one interval.
    let first = wait_until(INTERVAL, || sampler.stats().updates_ok == 1).expect("first strategy");
    assert!(first < INTERVAL, "{first:?}");
    assert_eq!(sampled_fraction(&sampler, "op"), 1.0);
    let req = &server.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/sampling?service=svc-a")
    );

    // A change applies within one refresh interval (plus scheduling slack).
    *answer.lock().unwrap() = Reply::Status(
        200,
        br#"{"strategyType":0,"probabilisticSampling":{"samplingRate":0}}"#.to_vec(),
    );
    let took =
        wait_until(INTERVAL * 2, || sampler.stats().updates_ok == 2).expect("second strategy");
    assert!(took <= INTERVAL + Duration::from_millis(250), "{took:?}");
    assert_eq!(sampled_fraction(&sampler, "op"), 0.0);

    // Failures keep the last good strategy (and back off, but keep trying).
    *answer.lock().unwrap() = Reply::Status(500, b"oops".to_vec());
    let before = sampler.stats().queries_err;
    wait_until(INTERVAL * 4, || sampler.stats().queries_err >= before + 2)
        .expect("failed polls counted");
    assert_eq!(sampled_fraction(&sampler, "op"), 0.0);
    *answer.lock().unwrap() = Reply::Close;
    let before = sampler.stats().queries_err;
    wait_until(INTERVAL * 4, || sampler.stats().queries_err > before)
        .expect("dropped connection counted");

    // Garbage and out-of-range values are rejected, counted, and ignored.
    for body in [
        &b"<html>not json</html>"[..],
        br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":7}}"#,
    ] {
        *answer.lock().unwrap() = Reply::Status(200, body.to_vec());
        let before = sampler.stats().updates_err;
        wait_until(INTERVAL * 4, || sampler.stats().updates_err > before).expect("garbage counted");
        assert_eq!(sampled_fraction(&sampler, "op"), 0.0);
    }
    assert_eq!(sampler.stats().updates_ok, 2);

    // Per-operation: "hot" at 1.0, everything else at 0 with a lower bound of
    // 1 trace per second (a burst of 1, then about one a second).
    *answer.lock().unwrap() = Reply::Status(
        200,
        br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0},
            "operationSampling":{"defaultSamplingProbability":0,"defaultLowerBoundTracesPerSecond":1,
            "perOperationStrategies":[{"operation":"hot","probabilisticSampling":{"samplingRate":1}}]}}"#
            .to_vec(),
    );
    wait_until(INTERVAL * 4, || sampler.stats().updates_ok == 3).expect("per-operation strategy");
    assert_eq!(sampled_fraction(&sampler, "hot"), 1.0);
    let cold: Vec<_> = (1..=50)
        .map(|i| sampler.should_sample(TraceId::new(0, i), "cold"))
        .collect();
    assert_eq!(
        cold.iter().filter(|d| d.sampled).count(),
        1,
        "lower bound: exactly one"
    );
    assert_eq!(
        cold.iter().find(|d| d.sampled).unwrap().sampler_type,
        "lowerbound"
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert!(
        sampler.should_sample(TraceId::new(0, 99), "cold").sampled,
        "lower bound refills"
    );
    sampler.close();
}

#[test]
fn tracer_from_env_uses_remote_strategy_and_tags_roots() {
    let server = HttpServer::start(|_| {
        Reply::Status(
            200,
            br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}"#
                .to_vec(),
        )
    });
    let endpoint = server.url("/sampling");
    let vars = [
        ("JAEGER_SERVICE_NAME", "env-remote"),
        ("JAEGER_AGENT_HOST", "127.0.0.1"),
        ("JAEGER_SAMPLER_TYPE", "remote"),
        ("JAEGER_SAMPLER_PARAM", "0"),
        ("JAEGER_SAMPLING_ENDPOINT", endpoint.as_str()),
        ("JAEGER_SAMPLER_REFRESH_INTERVAL", "1m"),
    ];
    let lookup = env_vars::lookup(&vars);
    let (tracer, guard) = TracerBuilder::from_lookup(lookup).unwrap().init().unwrap();
    // Initial rate 0 until the first answer, then everything.
    wait_until(Duration::from_secs(5), || {
        tracer.start("probe").context().is_sampled()
    })
    .expect("remote strategy applied");
    assert!(server.requests()[0].target.ends_with("service=env-remote"));
    drop(guard);
    assert!(Tracer::noop().start("x").context().trace_id() == TraceId::new(0, 0));
}

/// The deprecated `JAEGER_SAMPLER_MANAGER_HOST_PORT`, as `host:port` (the
/// Java client's reading) or as a URL (the Go client's), is the sampling
/// endpoint when `JAEGER_SAMPLING_ENDPOINT` is unset.
#[test]
fn the_deprecated_manager_host_port_variable_names_the_endpoint() {
    let server = HttpServer::start(|r| {
        if r.target.starts_with("/sampling?") {
            Reply::Status(
                200,
                br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}"#
                    .to_vec(),
            )
        } else {
            Reply::Status(404, Vec::new())
        }
    });
    // A remote sampler of initial rate 0 configured by `endpoint_vars`:
    // true once a strategy from the server samples everything.
    let strategy_arrives = |service: &str, endpoint_vars: &[(&str, &str)]| {
        let mut vars = vec![
            ("JAEGER_SERVICE_NAME", service),
            ("JAEGER_SAMPLER_TYPE", "remote"),
            ("JAEGER_SAMPLER_PARAM", "0"),
        ];
        vars.extend_from_slice(endpoint_vars);
        let (tracer, guard) = TracerBuilder::from_lookup(env_vars::lookup(&vars))
            .unwrap()
            .init()
            .unwrap();
        let sampled = wait_until(Duration::from_secs(5), || {
            tracer.start("probe").context().is_sampled()
        });
        drop(guard);
        sampled.is_some()
    };
    let host_port = server.url("").trim_start_matches("http://").to_owned();
    let url = server.url("/sampling");
    for (service, value) in [("host-port", host_port.as_str()), ("url", url.as_str())] {
        let arrived = strategy_arrives(service, &[("JAEGER_SAMPLER_MANAGER_HOST_PORT", value)]);
        assert!(arrived, "{value}: no strategy from {:?}", server.requests());
    }
    let asked = server.requests();
    assert!(asked
        .iter()
        .any(|r| r.target == "/sampling?service=host-port"));
    assert!(asked.iter().any(|r| r.target == "/sampling?service=url"));
    // The current variable wins over the deprecated one.
    let both = [
        ("JAEGER_SAMPLING_ENDPOINT", url.as_str()),
        ("JAEGER_SAMPLER_MANAGER_HOST_PORT", "127.0.0.1:9"),
    ];
    assert!(
        strategy_arrives("both", &both),
        "JAEGER_SAMPLING_ENDPOINT unused"
    );
}

#[test]
fn invalid_sampler_environment_is_an_error() {
    let cases: &[(&str, &str)] = &[
        ("JAEGER_SAMPLER_PARAM", "1.5"),
        ("JAEGER_SAMPLING_ENDPOINT", "not a url"),
        ("JAEGER_SAMPLER_REFRESH_INTERVAL", "10"),
        ("JAEGER_SAMPLER_MAX_OPERATIONS", "many"),
        ("JAEGER_SAMPLER_MANAGER_HOST_PORT", "::"),
        ("JAEGER_SAMPLER_MANAGER_HOST_PORT", ":5778"),
    ];
    for (var, value) in cases {
        let vars = [
            ("JAEGER_SERVICE_NAME", "s"),
            ("JAEGER_SAMPLER_TYPE", "remote"),
            (var, value),
        ];
        let lookup = env_vars::lookup(&vars);
        let err = TracerBuilder::from_lookup(lookup).unwrap_err();
        assert!(
            err.to_string().contains(var) && err.to_string().contains(value),
            "{err}"
        );
    }
}

#[test]
fn an_answer_too_large_for_a_strategy_is_refused_unread() {
    // Valid JSON (a strategy padded with 5 MB of spaces), from an endpoint
    // that is not what it should be: refused, not read into memory whole.
    let mut body = vec![b' '; 5 << 20];
    body.extend_from_slice(
        br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1.0}}"#,
    );
    let server = HttpServer::start(move |_| Reply::Status(200, body.clone()));
    let sampler = RemoteSampler::builder("svc-big")
        .with_endpoint(server.url("/sampling"))
        .with_refresh_interval(INTERVAL)
        .with_initial_rate(0.0)
        .start()
        .unwrap();
    wait_until(INTERVAL * 4, || sampler.stats().updates_err >= 1).expect("answer refused");
    let stats = sampler.stats();
    assert_eq!((stats.updates_ok, stats.queries_err), (0, 0), "{stats:?}");
    assert_eq!(
        sampled_fraction(&sampler, "op"),
        0.0,
        "the initial rate stays"
    );
}

/// An https sampling endpoint with a certificate of its own: trusted when
/// given to `with_root_certificate_pem`, refused (and counted) otherwise.
#[test]
fn an_https_endpoint_is_trusted_with_its_root_certificate() {
    let (pem, cert, key) = support::http::self_signed();
    let server = HttpServer::start_tls(cert, key, |_| {
        Reply::Status(
            200,
            br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1}}"#
                .to_vec(),
        )
    });
    let trusted = RemoteSampler::builder("tls-sampled")
        .with_endpoint(server.url("/sampling"))
        .with_initial_rate(0.0)
        .with_root_certificate_pem(pem)
        .start()
        .unwrap();
    let untrusted = RemoteSampler::builder("tls-refused")
        .with_endpoint(server.url("/sampling"))
        .with_initial_rate(0.0)
        .with_refresh_interval(Duration::from_millis(100))
        .start()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || trusted.stats().updates_ok == 1).is_some(),
        "{:?}",
        trusted.stats()
    );
    assert_eq!(sampled_fraction(&trusted, "op"), 1.0);
    assert!(
        wait_until(Duration::from_secs(5), || untrusted.stats().queries_err
            >= 2)
        .is_some(),
        "{:?}",
        untrusted.stats()
    );
    assert_eq!(untrusted.stats().updates_ok, 0);
    assert_eq!(sampled_fraction(&untrusted, "op"), 0.0);
    // Only the trusted sampler's requests got through the handshake.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.target.contains("service=tls-sampled")));

    let err = RemoteSampler::builder("bad-pem")
        .with_root_certificate_pem("not a certificate")
        .start()
        .unwrap_err();
    assert!(err.is_config(), "{err}");
    assert!(err.to_string().contains("root certificate PEM"), "{err}");
}
