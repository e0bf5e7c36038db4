{{/*
The collector container and its volumes, the same in both modes: the gateway Deployment renders
them with this chart's context, application charts through the sidecar templates (_sidecar.tpl).
*/}}

{{/* Downward API: the pod and namespace become resource attributes of the collector's telemetry. */}}
{{- define "otel-llmcost.env" -}}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: OTEL_RESOURCE_ATTRIBUTES
  value: k8s.pod.name=$(K8S_POD_NAME),k8s.namespace.name=$(K8S_NAMESPACE_NAME)
- name: OTEL_LLMCOST_OTLP_GRPC_ENDPOINT
  value: {{ include "otel-llmcost.hostPort" (dict "host" (include "otel-llmcost.otlpHost" .) "port" .Values.ports.otlpGrpc) | quote }}
- name: OTEL_LLMCOST_OTLP_HTTP_ENDPOINT
  value: {{ include "otel-llmcost.hostPort" (dict "host" (include "otel-llmcost.otlpHost" .) "port" .Values.ports.otlpHttp) | quote }}
- name: OTEL_LLMCOST_LISTEN
  value: {{ include "otel-llmcost.hostPort" (dict "host" .Values.bindAddress "port" .Values.ports.metrics) | quote }}
{{- if .Values.ledger.existingSecret.name }}
{{- include "otel-llmcost.secretEnv" (dict "name" "OTEL_LLMCOST_LEDGER" "secret" .Values.ledger.existingSecret) }}
{{- else }}
- name: OTEL_LLMCOST_LEDGER
  value: {{ include "otel-llmcost.ledgerUrl" . | quote }}
{{- end }}
{{- if .Values.budgetStore.existingSecret.name }}
{{- include "otel-llmcost.secretEnv" (dict "name" "OTEL_LLMCOST_BUDGET_STORE" "secret" .Values.budgetStore.existingSecret) }}
{{- end }}
{{- if .Values.auth.existingSecret.name }}
{{- include "otel-llmcost.secretEnv" (dict "name" "OTEL_LLMCOST_API_TOKEN" "secret" .Values.auth.existingSecret) }}
{{- end }}
{{- /* SQLite and Python write temporary files here: a volume (the root filesystem is read-only). */}}
- name: TMPDIR
  value: /tmp
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* An environment variable read from an existing Secret. */}}
{{- define "otel-llmcost.secretEnv" }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret.name }}
      key: {{ .secret.key }}
{{- end }}

{{- define "otel-llmcost.probe" -}}
httpGet:
  path: {{ .path }}
  port: llmcost-metrics
periodSeconds: {{ .probe.periodSeconds }}
timeoutSeconds: {{ .probe.timeoutSeconds }}
failureThreshold: {{ .probe.failureThreshold }}
{{- end }}

{{/* One container, as a list item. */}}
{{- define "otel-llmcost.container" -}}
- name: otel-llmcost
  image: {{ include "otel-llmcost.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if and (eq .Values.mode "sidecar") .Values.sidecar.native }}
  {{- /* A native sidecar: started before the application's containers, stopped after them. */}}
  restartPolicy: Always
  {{- end }}
  command: [otel-llmcost, collector]
  args: [--config, {{ include "otel-llmcost.configDir" . }}/config.yaml]
  ports:
    {{- if .Values.config.receivers.otlp_grpc.enabled }}
    - name: llmcost-grpc
      containerPort: {{ .Values.ports.otlpGrpc }}
      protocol: TCP
    {{- end }}
    {{- if .Values.config.receivers.otlp_http.enabled }}
    - name: llmcost-http
      containerPort: {{ .Values.ports.otlpHttp }}
      protocol: TCP
    {{- end }}
    - name: llmcost-metrics
      containerPort: {{ .Values.ports.metrics }}
      protocol: TCP
  env:
    {{- include "otel-llmcost.env" . | nindent 4 }}
  startupProbe:
    {{- include "otel-llmcost.probe" (dict "path" "/readyz" "probe" .Values.startupProbe) | nindent 4 }}
  livenessProbe:
    {{- include "otel-llmcost.probe" (dict "path" "/healthz" "probe" .Values.livenessProbe) | nindent 4 }}
  readinessProbe:
    {{- include "otel-llmcost.probe" (dict "path" "/readyz" "probe" .Values.readinessProbe) | nindent 4 }}
  {{- with .Values.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: otel-llmcost-config
      mountPath: {{ include "otel-llmcost.configDir" . }}
      readOnly: true
    - name: otel-llmcost-ledger
      mountPath: {{ include "otel-llmcost.ledgerDir" . }}
    - name: otel-llmcost-tmp
      mountPath: /tmp
    {{- if .Values.tls.existingSecret }}
    - name: otel-llmcost-tls
      mountPath: {{ include "otel-llmcost.tlsDir" . }}
      readOnly: true
    {{- end }}
    {{- with .Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
The container's volumes, as list items, then extraVolumes. Names are prefixed: they share the
application's pod.
*/}}
{{- define "otel-llmcost.volumes" -}}
- name: otel-llmcost-config
  configMap:
    name: {{ include "otel-llmcost.configMapName" . }}
- name: otel-llmcost-ledger
  {{- if .Values.ledger.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "otel-llmcost.claimName" . }}
  {{- else if .Values.ledger.emptyDirSizeLimit }}
  emptyDir:
    sizeLimit: {{ .Values.ledger.emptyDirSizeLimit }}
  {{- else }}
  emptyDir: {}
  {{- end }}
- name: otel-llmcost-tmp
  emptyDir: {}
{{- if .Values.tls.existingSecret }}
- name: otel-llmcost-tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
