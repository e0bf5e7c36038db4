{{/*
Names, labels and small decisions shared by every template.

Every helper here takes this chart's own context: `.` inside this chart's templates, or
`.Subcharts.<alias>` from an application chart that depends on this one. Names never use
.Chart.Name, which an alias renames, so an application chart computes the same names as the
ConfigMap this chart renders.
*/}}

{{/* The chart's name in resource names and the app.kubernetes.io/name label. */}}
{{- define "otel-llmcost.name" -}}
{{- default "otel-llmcost" .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* "<release>-otel-llmcost", or the release name alone when it already says otel-llmcost. */}}
{{- define "otel-llmcost.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "otel-llmcost.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
"<fullname><suffix>" in at most 63 characters: when it is too long the full name is cut, never the
suffix, so names that differ only in their suffix (one per dashboard, one per rule file) stay apart.
Takes (dict "context" . "suffix" "-config"); the suffix starts with "-".
*/}}
{{- define "otel-llmcost.suffixedName" -}}
{{- $room := sub 63 (len .suffix) }}
{{- if lt $room 1 }}
{{- fail (printf "the name suffix %q is longer than 62 characters: rename the file it comes from" .suffix) }}
{{- end }}
{{- include "otel-llmcost.fullname" .context | trunc (int $room) | trimSuffix "-" }}{{ .suffix }}
{{- end }}

{{/* Name of the ConfigMap that holds config.yaml, budgets.yaml and prices.yaml. */}}
{{- define "otel-llmcost.configMapName" -}}
{{- include "otel-llmcost.suffixedName" (dict "context" . "suffix" "-config") }}
{{- end }}

{{/* Name of the ledger's PersistentVolumeClaim (created, or ledger.persistence.existingClaim). */}}
{{- define "otel-llmcost.claimName" -}}
{{- .Values.ledger.persistence.existingClaim | default (include "otel-llmcost.suffixedName" (dict "context" . "suffix" "-ledger")) }}
{{- end }}

{{- define "otel-llmcost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "otel-llmcost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otel-llmcost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The chart's own labels (commonLabels and a resource's labels may replace all but the selector's). */}}
{{- define "otel-llmcost.chartLabels" -}}
helm.sh/chart: {{ include "otel-llmcost.chart" . }}
{{ include "otel-llmcost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end }}

{{/*
commonLabels and then the given label maps (least specific first) merged into one mapping: a key
set in several keeps the most specific value, so no key is written twice (Flux, kustomize and
strict YAML parsers refuse duplicate keys). Takes (dict "context" . "labels" (list .Values.x.labels)).
*/}}
{{- define "otel-llmcost.userLabels" -}}
{{- $merged := dict }}
{{- range $labels := prepend (.labels | default list) .context.Values.commonLabels }}
{{- range $key, $value := $labels }}
{{- $_ := set $merged $key $value }}
{{- end }}
{{- end }}
{{- toJson $merged }}
{{- end }}

{{/*
A resource's labels: the chart's, commonLabels and its own (`labels`, a list of maps, least specific
first) as one mapping in which the more specific value wins. Takes
(dict "context" . "labels" (list .Values.podMonitor.labels)).
*/}}
{{- define "otel-llmcost.labelsWith" -}}
{{- $user := include "otel-llmcost.userLabels" . | fromJson }}
{{- $lines := list }}
{{- range $line := splitList "\n" (include "otel-llmcost.chartLabels" .context) }}
{{- if not (hasKey $user (first (splitList ":" $line))) }}
{{- $lines = append $lines $line }}
{{- end }}
{{- end }}
{{- with $user }}
{{- $lines = append $lines (toYaml .) }}
{{- end }}
{{- join "\n" $lines }}
{{- end }}

{{/* The labels of every resource: the chart's and commonLabels. */}}
{{- define "otel-llmcost.labels" -}}
{{- include "otel-llmcost.labelsWith" (dict "context" .) }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest pins it. */}}
{{- define "otel-llmcost.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "otel-llmcost.serviceAccountName" -}}
{{- if .Values.gateway.serviceAccount.create }}
{{- .Values.gateway.serviceAccount.name | default (include "otel-llmcost.fullname" .) }}
{{- else }}
{{- .Values.gateway.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* HOST:PORT, with brackets around an IPv6 host (the collector's address syntax). */}}
{{- define "otel-llmcost.hostPort" -}}
{{- if contains ":" .host }}[{{ .host }}]:{{ .port }}{{ else }}{{ .host }}:{{ .port }}{{ end }}
{{- end }}

{{/* Where the OTLP receivers bind: loopback next to the application, all interfaces as a gateway. */}}
{{- define "otel-llmcost.otlpHost" -}}
{{- if eq .Values.mode "gateway" }}{{ .Values.bindAddress }}{{ else }}127.0.0.1{{ end }}
{{- end }}

{{/* Mount points. The ledger and /tmp are volumes: the root filesystem is read-only. */}}
{{- define "otel-llmcost.configDir" -}}/etc/otel-llmcost{{- end }}
{{- define "otel-llmcost.tlsDir" -}}/etc/otel-llmcost-tls{{- end }}
{{- define "otel-llmcost.ledgerDir" -}}/var/lib/otel-llmcost{{- end }}

{{/* The ledger URL written to the container's environment (unless it comes from a Secret). */}}
{{- define "otel-llmcost.ledgerUrl" -}}
{{- .Values.ledger.url | default (printf "sqlite:///%s/ledger.db" (include "otel-llmcost.ledgerDir" .)) }}
{{- end }}

{{/*
"true" when the ledger is an SQLite file: one writer, so one pod. A URL from a Secret is taken to
be PostgreSQL (SQLite needs no secret).
*/}}
{{- define "otel-llmcost.ledgerIsSqlite" -}}
{{- if and (not .Values.ledger.existingSecret.name) (or (not .Values.ledger.url) (hasPrefix "sqlite:" .Values.ledger.url)) }}true{{ end }}
{{- end }}

{{/* The collector's URL on a port, as applications reach it: the sidecar on localhost, or the gateway Service. */}}
{{- define "otel-llmcost.collectorUrl" -}}
{{- $ctx := .context }}
{{- $scheme := ternary "https" "http" (ne $ctx.Values.tls.existingSecret "") }}
{{- if eq $ctx.Values.mode "gateway" }}
{{- printf "%s://%s.%s.svc:%v" $scheme (include "otel-llmcost.fullname" $ctx) $ctx.Release.Namespace .port }}
{{- else }}
{{- printf "%s://localhost:%v" $scheme .port }}
{{- end }}
{{- end }}

{{/* The OTLP/HTTP URL (the OpenTelemetry Operator's Python injection exports OTLP/HTTP only). */}}
{{- define "otel-llmcost.otlpHttpUrl" -}}
{{- include "otel-llmcost.collectorUrl" (dict "context" . "port" .Values.ports.otlpHttp) }}
{{- end }}

{{/*
The OTLP protocol applications export with (OTEL_EXPORTER_OTLP_PROTOCOL): http/protobuf, or grpc
when the OTLP/HTTP receiver is off (the application then needs the OTLP gRPC exporter).
*/}}
{{- define "otel-llmcost.otlpProtocol" -}}
{{- if .Values.config.receivers.otlp_http.enabled }}http/protobuf{{ else }}grpc{{ end }}
{{- end }}

{{/* The URL applications export to (OTEL_EXPORTER_OTLP_ENDPOINT), for otel-llmcost.otlpProtocol. */}}
{{- define "otel-llmcost.otlpUrl" -}}
{{- if .Values.config.receivers.otlp_http.enabled }}
{{- include "otel-llmcost.otlpHttpUrl" . }}
{{- else }}
{{- include "otel-llmcost.collectorUrl" (dict "context" . "port" .Values.ports.otlpGrpc) }}
{{- end }}
{{- end }}

{{/*
The application's bearer token with auth.existingSecret (list items): the token from the Secret,
then OTEL_EXPORTER_OTLP_HEADERS, which references it (Kubernetes expands $(VAR) of an earlier entry;
the exporters read the value URL-decoded, so the token must not hold `%` or `,`). Without it the
collector answers 401 and the exporter drops every span.
*/}}
{{- define "otel-llmcost.appAuthEnv" -}}
{{- with .Values.auth.existingSecret }}
{{- if .name -}}
- name: OTEL_LLMCOST_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ .name | quote }}
      key: {{ .key | quote }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  value: "authorization=Bearer $(OTEL_LLMCOST_API_TOKEN)"
{{- end }}
{{- end }}
{{- end }}
