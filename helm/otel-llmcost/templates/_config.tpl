{{/*
The collector's files: config.yaml from .Values.config plus the keys the chart owns, budgets.yaml
and prices.yaml from .Values.budgets and .Values.prices. Listen addresses and the ledger URL are
environment variables of the container instead (see _container.tpl): they must beat the image's
own OTEL_LLMCOST_* defaults, which a config file cannot.
*/}}

{{- define "otel-llmcost.configFile" -}}
{{- $config := deepCopy .Values.config }}
{{- $dir := include "otel-llmcost.configDir" . }}
{{- if .Values.prices }}
{{- $_ := set $config "pricing" (dict "overrides" (printf "%s/prices.yaml" $dir)) }}
{{- end }}
{{- if .Values.budgets }}
{{- $budgets := deepCopy ($config.budgets | default dict) }}
{{- $_ := set $budgets "policy" (printf "%s/budgets.yaml" $dir) }}
{{- $_ := set $config "budgets" $budgets }}
{{- end }}
{{- if .Values.tls.existingSecret }}
{{- $tlsDir := include "otel-llmcost.tlsDir" . }}
{{- $receivers := deepCopy ($config.receivers | default dict) }}
{{- $_ := set $receivers "tls" (dict "cert_file" (printf "%s/tls.crt" $tlsDir) "key_file" (printf "%s/tls.key" $tlsDir)) }}
{{- $_ := set $config "receivers" $receivers }}
{{- end -}}
# otel-llmcost collector configuration (collector/config.yaml documents every key), rendered by
# the otel-llmcost chart. Listen addresses and the ledger URL are OTEL_LLMCOST_* variables of the
# container.
{{ toYaml $config }}
{{- end }}

{{/* The ConfigMap's data: what the collector reads, and what the checksum annotation hashes. */}}
{{- define "otel-llmcost.configData" -}}
config.yaml: |
  {{- include "otel-llmcost.configFile" . | nindent 2 }}
{{- with .Values.budgets }}
budgets.yaml: |
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.prices }}
prices.yaml: |
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
The ConfigMap manifest. This chart renders it (templates/configmap.yaml) in both modes, also when
it is an application chart's dependency: application charts include only the container, volumes
and annotations.
*/}}
{{- define "otel-llmcost.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "otel-llmcost.configMapName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "otel-llmcost.labels" . | nindent 4 }}
data:
  {{- include "otel-llmcost.configData" . | nindent 2 }}
{{- end }}

{{/* Pod annotations that roll the pods when the collector's files change. */}}
{{- define "otel-llmcost.podAnnotations" -}}
checksum/otel-llmcost-config: {{ include "otel-llmcost.configData" . | sha256sum }}
{{- end }}
