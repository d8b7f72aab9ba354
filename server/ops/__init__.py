"""Operations: health and readiness probes, Prometheus metrics, `fengchao doctor`, rate limits."""
