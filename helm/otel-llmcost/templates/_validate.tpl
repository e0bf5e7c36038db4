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
{{- fail "instrumentation.enabled exports OTLP/HTTP (the OpenTelemetry Operator's Python injection speaks http/protobuf only), but config.receivers.otlp_http.enabled is false, so nothing would receive its spans: enable the OTLP/HTTP receiver, or set instrumentation.endpoint to another OTLP/HTTP endpoint" }}
{{- end }}
{{- $ports := list (int $v.ports.otlpGrpc) (int $v.ports.otlpHttp) (int $v.ports.metrics) }}
{{- if ne (len (uniq $ports)) 3 }}
{{- fail (printf "ports.otlpGrpc, ports.otlpHttp and ports.metrics must differ, got %v" $ports) }}
{{- end }}
{{- if and $gateway (le (int $v.gateway.terminationGracePeriodSeconds) (int $v.config.shutdown.timeout_seconds)) }}
{{- fail (printf "gateway.terminationGracePeriodSeconds (%d) must exceed config.shutdown.timeout_seconds (%v): Kubernetes would kill the collector before it commits what is in flight" (int $v.gateway.terminationGracePeriodSeconds) $v.config.shutdown.timeout_seconds) }}
{{- end }}
{{- /* One PersistentVolumeClaim must never be mounted by several pods. */}}
{{- if and (not $gateway) $v.ledger.persistence.enabled }}
{{- fail "ledger.persistence.enabled needs mode: gateway: in sidecar mode every pod of the application would mount the same PersistentVolumeClaim (ReadWriteOnce: pods on other nodes fail to attach it; on one node, two SQLite writers share one file), so a per-pod SQLite ledger cannot persist. For a durable ledger shared by all pods set ledger.existingSecret (a postgresql:// URL), or run mode: gateway" }}
{{- end }}
{{- $scaling := and $gateway $v.autoscaling.enabled }}
{{- $mostPods := ternary (int $v.autoscaling.maxReplicas) (int $v.gateway.replicas) $scaling }}
{{- if and $gateway $v.ledger.persistence.enabled (gt $mostPods 1) }}
{{- fail (printf "ledger.persistence.enabled with up to %d gateway pods (%s): they would all mount the same PersistentVolumeClaim (ReadWriteOnce: pods on other nodes fail to attach it), and a PostgreSQL ledger keeps nothing on it: set ledger.persistence.enabled: false" $mostPods (ternary "autoscaling.maxReplicas" "gateway.replicas" $scaling)) }}
{{- end }}
{{- /* A PodDisruptionBudget that allows no eviction blocks every node drain. */}}
{{- if and $gateway $v.gateway.podDisruptionBudget.enabled }}
{{- $pods := ternary (int $v.autoscaling.minReplicas) (int $v.gateway.replicas) $scaling }}
{{- $podsKey := ternary "autoscaling.minReplicas" "gateway.replicas" $scaling }}
{{- $min := $v.gateway.podDisruptionBudget.minAvailable }}
{{- $shown := printf "%v" $min }}
{{- $keep := 0 }}
{{- if kindIs "string" $min }}
{{- /* Kubernetes rounds a percentage of minAvailable up. */}}
{{- $keep = div (add (mul (atoi (trimSuffix "%" $min)) $pods) 99) 100 }}
{{- $shown = printf "%s of %d pods, rounded up: %d" $min $pods (int $keep) }}
{{- else }}
{{- $keep = int $min }}
{{- end }}
{{- if ge (int $keep) $pods }}
{{- fail (printf "gateway.podDisruptionBudget.minAvailable (%s) is not below %s (%d): the PodDisruptionBudget would let no gateway pod be evicted, so every node drain would block. Set minAvailable below %d, or raise %s" $shown $podsKey $pods $pods $podsKey) }}
{{- end }}
{{- end }}
{{- /* An SQLite file must be on a volume: the root filesystem is read-only. */}}
{{- $ledgerDir := include "otel-llmcost.ledgerDir" . }}
{{- if and $sqlite $v.ledger.url }}
{{- if not (hasPrefix "sqlite:///" $v.ledger.url) }}
{{- fail (printf "ledger.url %s is not an SQLite file URL: write sqlite:////absolute/path.db (no host), e.g. sqlite:///%s/ledger.db" $v.ledger.url $ledgerDir) }}
{{- end }}
{{- $path := trimPrefix "sqlite:///" $v.ledger.url }}
{{- if ne $path ":memory:" }}
{{- $writable := list $ledgerDir "/tmp" }}
{{- range $v.extraVolumeMounts }}
{{- if not .readOnly }}
{{- $writable = append $writable (clean .mountPath) }}
{{- end }}
{{- end }}
{{- $onVolume := false }}
{{- range $writable }}
{{- if hasPrefix (printf "%s/" (trimSuffix "/" .)) (clean $path) }}
{{- $onVolume = true }}
{{- end }}
{{- end }}
{{- if not $onVolume }}
{{- $where := ternary (clean $path) (printf "%s (relative to the working directory)" (clean $path)) (isAbs $path) }}
{{- fail (printf "ledger.url %s puts the SQLite ledger at %s, on the collector's read-only root filesystem: put it in %s, the ledger volume (sqlite:///%s/ledger.db, which an empty ledger.url means). Writable directories: %s" $v.ledger.url $where $ledgerDir $ledgerDir (join ", " (uniq $writable))) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* extraVolumes and extraVolumeMounts beside the chart's own. */}}
{{- $chartVolumes := list "otel-llmcost-config" "otel-llmcost-ledger" "otel-llmcost-tmp" "otel-llmcost-tls" }}
{{- range $i, $volume := $v.extraVolumes }}
{{- if has $volume.name $chartVolumes }}
{{- fail (printf "extraVolumes[%d].name %s is the name of a volume the chart adds (%s): choose another" $i $volume.name (join ", " $chartVolumes)) }}
{{- end }}
{{- end }}
{{- $chartMounts := list (include "otel-llmcost.configDir" .) (include "otel-llmcost.tlsDir" .) $ledgerDir "/tmp" }}
{{- range $i, $mount := $v.extraVolumeMounts }}
{{- $path := clean $mount.mountPath }}
{{- range $chartMounts }}
{{- if or (eq $path .) (hasPrefix (printf "%s/" .) $path) }}
{{- fail (printf "extraVolumeMounts[%d].mountPath %s is in %s, where the chart mounts a volume of its own: choose a path outside %s" $i $mount.mountPath . (join ", " $chartMounts)) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* The gateway's pods must keep the labels its Deployment, Service and monitors select them by. */}}
{{- if $gateway }}
{{- $podLabels := include "otel-llmcost.userLabels" (dict "context" . "labels" (list $v.gateway.podLabels)) | fromJson }}
{{- $selector := dict "app.kubernetes.io/name" (include "otel-llmcost.name" .) "app.kubernetes.io/instance" .Release.Name }}
{{- $how := dict "app.kubernetes.io/name" "nameOverride sets it" "app.kubernetes.io/instance" "it is the release name" }}
{{- range $key, $value := $selector }}
{{- if and (hasKey $podLabels $key) (ne (toString (get $podLabels $key)) $value) }}
{{- fail (printf "commonLabels or gateway.podLabels set %s: %s, but the gateway's Deployment, Service and monitors select its pods by %s: %s: drop that label (%s)" $key (toString (get $podLabels $key)) $key $value (get $how $key)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
