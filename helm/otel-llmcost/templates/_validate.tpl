{{/*
Impossible combinations of values: each stops the render with what is wrong and how to fix it.
values.schema.json checks keys and types; these are the rules that span several keys. NOTES.txt
runs them (and so do the sidecar templates, for application charts).
*/}}
{{- define "otel-llmcost.validate" -}}
{{- $v := .Values }}
{{- $gateway := eq $v.mode "gateway" }}
{{- $sqlite := eq (include "otel-llmcost.ledgerIsSqlite" .) "true" }}
{{- if and $v.ledger.url $v.ledger.existingSecret.name }}
{{- fail "ledger.url and ledger.existingSecret.name are both set: choose one (a URL with a password belongs in the Secret)" }}
{{- end }}
{{- if and $v.autoscaling.enabled (not $gateway) }}
{{- fail "autoscaling.enabled needs mode: gateway (a sidecar scales with its application's pods)" }}
{{- end }}
{{- if and $gateway $sqlite (gt (int $v.gateway.replicas) 1) }}
{{- fail (printf "gateway.replicas is %d but the ledger is SQLite, which one pod at a time can write: set ledger.existingSecret (a postgresql:// URL) or gateway.replicas: 1" (int $v.gateway.replicas)) }}
{{- end }}
{{- if and $gateway $sqlite $v.autoscaling.enabled }}
{{- fail "autoscaling.enabled with an SQLite ledger: scaling out needs a PostgreSQL ledger (ledger.existingSecret with a postgresql:// URL)" }}
{{- end }}
{{- if and $v.autoscaling.enabled (lt (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- fail (printf "autoscaling.maxReplicas (%d) is below autoscaling.minReplicas (%d)" (int $v.autoscaling.maxReplicas) (int $v.autoscaling.minReplicas)) }}
{{- end }}
{{- if and $v.autoscaling.enabled (not $v.autoscaling.targetCPUUtilizationPercentage) (not $v.autoscaling.targetMemoryUtilizationPercentage) }}
{{- fail "autoscaling.enabled with neither targetCPUUtilizationPercentage nor targetMemoryUtilizationPercentage: nothing to scale on" }}
{{- end }}
{{- $requests := (($v.resources | default dict).requests | default dict) }}
{{- if and $v.autoscaling.enabled $v.autoscaling.targetCPUUtilizationPercentage (not $requests.cpu) }}
{{- fail "autoscaling.targetCPUUtilizationPercentage is a percentage of resources.requests.cpu, which is not set" }}
{{- end }}
{{- if and $v.autoscaling.enabled $v.autoscaling.targetMemoryUtilizationPercentage (not $requests.memory) }}
{{- fail "autoscaling.targetMemoryUtilizationPercentage is a percentage of resources.requests.memory, which is not set" }}
{{- end }}
{{- if and $v.serviceMonitor.enabled (not $gateway) }}
{{- fail "serviceMonitor.enabled needs mode: gateway (a sidecar has no Service): use podMonitor.enabled" }}
{{- end }}
{{- if and $v.prometheusRule.enabled (not (.Files.Glob "files/prometheus/*.yaml")) }}
{{- fail "prometheusRule.enabled but the chart has no rule files in files/prometheus/ (run scripts/sync_chart_files.py)" }}
{{- end }}
{{- if and $v.grafanaDashboards.enabled (not (.Files.Glob "files/grafana/*.json")) }}
{{- fail "grafanaDashboards.enabled but the chart has no dashboards in files/grafana/ (run scripts/sync_chart_files.py)" }}
{{- end }}
{{- if and (not $v.config.receivers.otlp_grpc.enabled) (not $v.config.receivers.otlp_http.enabled) }}
{{- fail "config.receivers.otlp_grpc.enabled and config.receivers.otlp_http.enabled are both false: the collector would receive nothing" }}
{{- end }}
{{- if and $v.instrumentation.enabled (not $v.config.receivers.otlp_http.enabled) (not $v.instrumentation.endpoint) }}
{{- fail "instrumentation.enabled exports OTLP/HTTP, but config.receivers.otlp_http.enabled is false: enable it or set instrumentation.endpoint" }}
{{- end }}
{{- $ports := list (int $v.ports.otlpGrpc) (int $v.ports.otlpHttp) (int $v.ports.metrics) }}
{{- if ne (len (uniq $ports)) 3 }}
{{- fail (printf "ports.otlpGrpc, ports.otlpHttp and ports.metrics must differ, got %v" $ports) }}
{{- end }}
{{- if and $gateway (le (int $v.gateway.terminationGracePeriodSeconds) (int $v.config.shutdown.timeout_seconds)) }}
{{- fail (printf "gateway.terminationGracePeriodSeconds (%d) must exceed config.shutdown.timeout_seconds (%v): Kubernetes would kill the collector before it commits what is in flight" (int $v.gateway.terminationGracePeriodSeconds) $v.config.shutdown.timeout_seconds) }}
{{- end }}
{{- end }}
