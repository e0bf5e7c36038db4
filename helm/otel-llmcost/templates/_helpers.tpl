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

{{/* Name of the ConfigMap that holds config.yaml, budgets.yaml and prices.yaml. */}}
{{- define "otel-llmcost.configMapName" -}}
{{- include "otel-llmcost.fullname" . | trunc 56 | trimSuffix "-" }}-config
{{- end }}

{{/* Name of the ledger's PersistentVolumeClaim (created, or ledger.persistence.existingClaim). */}}
{{- define "otel-llmcost.claimName" -}}
{{- .Values.ledger.persistence.existingClaim | default (printf "%s-ledger" (include "otel-llmcost.fullname" . | trunc 56 | trimSuffix "-")) }}
{{- end }}

{{- define "otel-llmcost.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "otel-llmcost.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otel-llmcost.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "otel-llmcost.labels" -}}
helm.sh/chart: {{ include "otel-llmcost.chart" . }}
{{ include "otel-llmcost.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
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

{{/* The OTLP/HTTP URL applications export to: the sidecar on localhost, or the gateway Service. */}}
{{- define "otel-llmcost.otlpHttpUrl" -}}
{{- $scheme := ternary "https" "http" (ne .Values.tls.existingSecret "") }}
{{- if eq .Values.mode "gateway" }}
{{- printf "%s://%s.%s.svc:%v" $scheme (include "otel-llmcost.fullname" .) .Release.Namespace .Values.ports.otlpHttp }}
{{- else }}
{{- printf "%s://localhost:%v" $scheme .Values.ports.otlpHttp }}
{{- end }}
{{- end }}
