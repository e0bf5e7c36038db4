{{/*
The sidecar API for application charts that list this chart as a dependency. Each template takes
the dependency's context, `.Subcharts.<name or alias>`, so it sees the same values (defaults
included) and computes the same names as the ConfigMap this chart renders:

  spec:
    template:
      metadata:
        annotations:
          {{- include "otel-llmcost.sidecar.annotations" .Subcharts.llmcost | nindent 10 }}
      spec:
        initContainers:   # sidecar.native: true (the default); else under containers
          {{- include "otel-llmcost.sidecar" .Subcharts.llmcost | nindent 10 }}
        containers:
          - name: app
            env:
              {{- include "otel-llmcost.sidecar.appEnv" (dict "context" .Subcharts.llmcost "serviceName" "my-app") | nindent 14 }}
            volumeMounts:
              {{- include "otel-llmcost.sidecar.appVolumeMounts" .Subcharts.llmcost | nindent 14 }}
        volumes:
          {{- include "otel-llmcost.sidecar.volumes" .Subcharts.llmcost | nindent 10 }}
*/}}

{{- define "otel-llmcost.sidecar.require" -}}
{{- if ne .Values.mode "sidecar" }}
{{- fail (printf "the otel-llmcost sidecar templates need mode: sidecar, got mode: %s" .Values.mode) }}
{{- end }}
{{- include "otel-llmcost.validate" . }}
{{- end }}

{{/* The collector container, as a list item (under initContainers when sidecar.native). */}}
{{- define "otel-llmcost.sidecar" -}}
{{- include "otel-llmcost.sidecar.require" . }}
{{- include "otel-llmcost.container" . }}
{{- end }}

{{/* The sidecar's volumes (config, ledger, /tmp, TLS, extraVolumes), as list items. */}}
{{- define "otel-llmcost.sidecar.volumes" -}}
{{- include "otel-llmcost.sidecar.require" . }}
{{- include "otel-llmcost.volumes" . }}
{{- end }}

{{/* Pod annotations: a checksum of the collector's files, so pods roll when they change. */}}
{{- define "otel-llmcost.sidecar.annotations" -}}
{{- include "otel-llmcost.podAnnotations" . }}
{{- end }}

{{/*
Environment of an application container that exports to the collector (the sidecar, or the
gateway in gateway mode). Takes (dict "context" .Subcharts.<name> "serviceName" "my-app"
"resourceAttributes" (dict "deployment.environment.name" "prod")): serviceName sets
OTEL_SERVICE_NAME, resourceAttributes join the pod and namespace in OTEL_RESOURCE_ATTRIBUTES (both
optional). The endpoint is the OTLP/HTTP receiver (http/protobuf), or the OTLP/gRPC one (grpc: the
application needs the OTLP gRPC exporter) when config.receivers.otlp_http.enabled is false. The
collector receives traces only: metrics and logs exporters follow appExport. With
auth.existingSecret, the token goes in OTEL_EXPORTER_OTLP_HEADERS (`authorization=Bearer <token>`;
the exporters read that value URL-decoded, so the token must not hold `%` or `,`): without it the
collector answers 401 and the exporter drops every span. In sidecar mode, with `budgets` (or
`prices`) set, OTEL_LLMCOST_BUDGETS (OTEL_LLMCOST_PRICES) name the ConfigMap's file as
otel-llmcost.sidecar.appVolumeMounts mounts it, so the application enforces the budgets the collector
reports; with budgetStore.existingSecret, OTEL_LLMCOST_BUDGET_STORE shares the reservations across
pods (without it, each process keeps its own, in memory).
*/}}
{{- define "otel-llmcost.sidecar.appEnv" -}}
{{- $ctx := .context -}}
{{- $attributes := list "k8s.pod.name=$(K8S_POD_NAME)" "k8s.namespace.name=$(K8S_NAMESPACE_NAME)" -}}
{{- range $key, $value := .resourceAttributes }}
{{- $attributes = append $attributes (printf "%s=%s" $key $value) }}
{{- end -}}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ include "otel-llmcost.otlpUrl" $ctx | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ include "otel-llmcost.otlpProtocol" $ctx }}
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_METRICS_EXPORTER
  value: {{ $ctx.Values.appExport.metricsExporter | quote }}
- name: OTEL_LOGS_EXPORTER
  value: {{ $ctx.Values.appExport.logsExporter | quote }}
- name: OTEL_PROPAGATORS
  value: tracecontext,baggage
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attributes | quote }}
{{- with include "otel-llmcost.appAuthEnv" $ctx }}
{{ . }}
{{- end }}
{{- /* The in-process budget guard: the same policy, prices and shared store as the collector. */}}
{{- if eq $ctx.Values.mode "sidecar" }}
{{- $dir := include "otel-llmcost.configDir" $ctx }}
{{- if $ctx.Values.budgets }}
- name: OTEL_LLMCOST_BUDGETS
  value: {{ printf "%s/budgets.yaml" $dir | quote }}
{{- end }}
{{- if $ctx.Values.prices }}
- name: OTEL_LLMCOST_PRICES
  value: {{ printf "%s/prices.yaml" $dir | quote }}
{{- end }}
{{- end }}
{{- if $ctx.Values.budgetStore.existingSecret.name }}
{{- include "otel-llmcost.secretEnv" (dict "name" "OTEL_LLMCOST_BUDGET_STORE" "secret" $ctx.Values.budgetStore.existingSecret) }}
{{- end }}
{{- with .serviceName }}
- name: OTEL_SERVICE_NAME
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/*
The application container's volume mounts (list items): the collector's ConfigMap, read-only at the
path the collector reads it from, so the instrumentation's budget guard enforces the chart's
`budgets` (block, downgrade) with the chart's `prices` — the files appEnv's OTEL_LLMCOST_BUDGETS and
OTEL_LLMCOST_PRICES name. The volume is one of otel-llmcost.sidecar.volumes.
*/}}
{{- define "otel-llmcost.sidecar.appVolumeMounts" -}}
{{- include "otel-llmcost.sidecar.require" . -}}
- name: otel-llmcost-config
  mountPath: {{ include "otel-llmcost.configDir" . }}
  readOnly: true
{{- end }}
