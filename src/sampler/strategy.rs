//! The sampling strategies served by the agent (`GET :5778/sampling`), and
//! their JSON form.

use serde::Deserialize;
use serde_json::Value;

/// A strategy as served, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Strategy {
    Probabilistic(f64),
    RateLimiting(f64),
    PerOperation(PerOperationStrategy),
}

/// Per-operation sampling: a probability per operation plus a lower-bound
/// rate every operation gets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PerOperationStrategy {
    pub(crate) default_probability: f64,
    pub(crate) lower_bound_per_second: f64,
    pub(crate) operations: Vec<(String, f64)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Response {
    strategy_type: Option<Value>,
    probabilistic_sampling: Option<Probabilistic>,
    rate_limiting_sampling: Option<RateLimiting>,
    operation_sampling: Option<OperationSampling>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probabilistic {
    sampling_rate: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimiting {
    max_traces_per_second: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationSampling {
    default_sampling_probability: f64,
    #[serde(default)]
    default_lower_bound_traces_per_second: f64,
    #[serde(default)]
    per_operation_strategies: Vec<OperationStrategy>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OperationStrategy {
    operation: String,
    probabilistic_sampling: Probabilistic,
}

fn probability(what: &str, p: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{what} {p} is outside [0, 1]"))
    }
}

fn rate(what: &str, r: f64) -> Result<f64, String> {
    if r.is_finite() && r >= 0.0 {
        Ok(r)
    } else {
        Err(format!("{what} {r} is not a rate >= 0"))
    }
}

/// Parses and validates a strategy response. `strategyType` may be a string
/// (`PROBABILISTIC`, `RATE_LIMITING`) or the legacy number (0, 1). A present
/// `operationSampling` takes precedence.
pub(crate) fn parse(body: &[u8]) -> Result<Strategy, String> {
    let r: Response =
        serde_json::from_slice(body).map_err(|e| format!("not a sampling strategy: {e}"))?;
    if let Some(ops) = r.operation_sampling {
        let mut operations = Vec::with_capacity(ops.per_operation_strategies.len());
        for o in ops.per_operation_strategies {
            let p = probability(
                &format!("samplingRate of operation {:?}", o.operation),
                o.probabilistic_sampling.sampling_rate,
            )?;
            operations.push((o.operation, p));
        }
        return Ok(Strategy::PerOperation(PerOperationStrategy {
            default_probability: probability(
                "defaultSamplingProbability",
                ops.default_sampling_probability,
            )?,
            lower_bound_per_second: rate(
                "defaultLowerBoundTracesPerSecond",
                ops.default_lower_bound_traces_per_second,
            )?,
            operations,
        }));
    }
    let kind = match &r.strategy_type {
        Some(Value::String(s)) if s == "PROBABILISTIC" => 0,
        Some(Value::String(s)) if s == "RATE_LIMITING" => 1,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => 0,
        Some(Value::Number(n)) if n.as_u64() == Some(1) => 1,
        Some(other) => return Err(format!("unknown strategyType {other}")),
        None => return Err("no strategyType and no operationSampling".into()),
    };
    if kind == 0 {
        let p = r
            .probabilistic_sampling
            .ok_or("PROBABILISTIC without probabilisticSampling")?;
        Ok(Strategy::Probabilistic(probability(
            "samplingRate",
            p.sampling_rate,
        )?))
    } else {
        let l = r
            .rate_limiting_sampling
            .ok_or("RATE_LIMITING without rateLimitingSampling")?;
        Ok(Strategy::RateLimiting(rate(
            "maxTracesPerSecond",
            l.max_traces_per_second,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_string_and_numeric_strategy_types() {
        assert_eq!(
            parse(br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}"#),
            Ok(Strategy::Probabilistic(0.001))
        );
        assert_eq!(
            parse(br#"{"strategyType":0,"probabilisticSampling":{"samplingRate":0.5}}"#),
            Ok(Strategy::Probabilistic(0.5))
        );
        assert_eq!(
            parse(br#"{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":10}}"#),
            Ok(Strategy::RateLimiting(10.0))
        );
        assert_eq!(
            parse(br#"{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":2.5}}"#),
            Ok(Strategy::RateLimiting(2.5))
        );
    }

    #[test]
    fn operation_sampling_wins() {
        let s = parse(
            br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1},
                "operationSampling":{"defaultSamplingProbability":0.1,"defaultLowerBoundTracesPerSecond":0.5,
                "perOperationStrategies":[{"operation":"op","probabilisticSampling":{"samplingRate":0.2}}]}}"#,
        )
        .unwrap();
        assert_eq!(
            s,
            Strategy::PerOperation(PerOperationStrategy {
                default_probability: 0.1,
                lower_bound_per_second: 0.5,
                operations: vec![("op".into(), 0.2)],
            })
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for body in [
            &b"<html>"[..],
            br#"{}"#,
            br#"{"strategyType":"SOMETIMES"}"#,
            br#"{"strategyType":7}"#,
            br#"{"strategyType":"PROBABILISTIC"}"#,
            br#"{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":1.5}}"#,
            br#"{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":-1}}"#,
            br#"{"operationSampling":{"defaultSamplingProbability":2}}"#,
        ] {
            assert!(parse(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}
