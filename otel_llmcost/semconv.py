"""Every attribute, metric and label name otel-llmcost reads or writes.

No other module spells these strings: a rename happens here, once. Names follow the latest
OpenTelemetry GenAI semantic conventions; the ``LEGACY_*``/``OPENLLMETRY_*``/``OPENINFERENCE_*``
constants are what other emitters write and :mod:`otel_llmcost.usage` reads.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions (latest) -------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # deprecated predecessor of gen_ai.provider.name
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"  # older name
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_REQUEST_SERVICE_TIER: Final = "gen_ai.request.service_tier"  # openai/azure semconv extension
GEN_AI_OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
GEN_AI_OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

# The cost proposal for GenAI semconv (open), which we follow.
GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"
COST_CURRENCY_USD: Final = "USD"
COST_SOURCE_LOCAL: Final = "local"

# gen_ai.operation.name values
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EMBEDDINGS: Final = "embeddings"
OP_GENERATE_CONTENT: Final = "generate_content"
# Units of work that span model calls; their spans may carry the children's summed usage.
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CREATE_AGENT: Final = "create_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_EXECUTE_TASK: Final = "execute_task"

# gen_ai.provider.name values
PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_GEMINI: Final = "gcp.gemini"
PROVIDER_VERTEX_AI: Final = "gcp.vertex_ai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
PROVIDER_AZURE_INFERENCE: Final = "azure.ai.inference"
PROVIDER_BEDROCK: Final = "aws.bedrock"
PROVIDER_XAI: Final = "x_ai"
PROVIDER_GROQ: Final = "groq"
PROVIDER_MISTRAL: Final = "mistral_ai"
PROVIDER_DEEPSEEK: Final = "deepseek"
PROVIDER_TOGETHER: Final = "together_ai"
PROVIDER_SELF_HOSTED: Final = "self_hosted"

# --- Our breakdown and attribution -------------------------------------------------------------
LLMCOST_COST_INPUT: Final = "llmcost.cost.input"
LLMCOST_COST_OUTPUT: Final = "llmcost.cost.output"
LLMCOST_COST_CACHE_READ: Final = "llmcost.cost.cache_read"
LLMCOST_COST_CACHE_WRITE: Final = "llmcost.cost.cache_write"
LLMCOST_COST_REASONING: Final = "llmcost.cost.reasoning"
LLMCOST_COST_REQUEST_FEES: Final = "llmcost.cost.request_fees"
LLMCOST_COST_UNPRICED: Final = "llmcost.cost.unpriced"
LLMCOST_PRICING_MODEL: Final = "llmcost.pricing.model"
LLMCOST_PRICING_VERSION: Final = "llmcost.pricing.version"
LLMCOST_PRICING_TIER: Final = "llmcost.pricing.tier"
LLMCOST_PRICING_LONG_CONTEXT: Final = "llmcost.pricing.long_context"
LLMCOST_USAGE_ESTIMATED: Final = "llmcost.usage.estimated"
LLMCOST_USAGE_CACHE_WRITE_1H: Final = "llmcost.usage.cache_write_1h.input_tokens"
LLMCOST_USAGE_INPUT_AUDIO: Final = "llmcost.usage.input_audio_tokens"
LLMCOST_USAGE_OUTPUT_AUDIO: Final = "llmcost.usage.output_audio_tokens"
LLMCOST_USAGE_WEB_SEARCH: Final = "llmcost.usage.web_search_requests"
LLMCOST_RESPONSE_SERVICE_TIER: Final = "llmcost.response.service_tier"  # providers without their own name
LLMCOST_MAX_TOKENS_EXCEEDED: Final = "llmcost.response.max_tokens_exceeded"
LLMCOST_TRUNCATED: Final = "llmcost.response.truncated"
LLMCOST_STREAMING: Final = "llmcost.request.streaming"
LLMCOST_PROMPT_FINGERPRINT: Final = "llmcost.prompt.fingerprint"
LLMCOST_BUDGET_DOWNGRADED_FROM: Final = "llmcost.budget.downgraded_from"
LLMCOST_BUDGET_ALERT: Final = "llmcost.budget.alert"
LLMCOST_BUDGET_NAMES: Final = "llmcost.budget.names"

LLMCOST_TEAM: Final = "llmcost.team"
LLMCOST_PROJECT: Final = "llmcost.project"
LLMCOST_USER: Final = "llmcost.user"
LLMCOST_FEATURE: Final = "llmcost.feature"
LLMCOST_THREAD: Final = "llmcost.thread"
LLMCOST_RUN: Final = "llmcost.run"

#: attribution field name -> span attribute / baggage key
ATTRIBUTION_KEYS: Final[dict[str, str]] = {
    "team": LLMCOST_TEAM,
    "project": LLMCOST_PROJECT,
    "user": LLMCOST_USER,
    "feature": LLMCOST_FEATURE,
    "thread": LLMCOST_THREAD,
    "run": LLMCOST_RUN,
}

#: Our tracer's instrumentation scope name (the spans the collector trusts first).
INSTRUMENTATION_SCOPE: Final = "otel_llmcost.instrumentation"

# --- Resource attributes ---------------------------------------------------------------------
SERVICE_NAME: Final = "service.name"
DEPLOYMENT_ENVIRONMENT_NAME: Final = "deployment.environment.name"
DEPLOYMENT_ENVIRONMENT: Final = "deployment.environment"  # deprecated predecessor
K8S_NAMESPACE_NAME: Final = "k8s.namespace.name"
K8S_POD_NAME: Final = "k8s.pod.name"

# --- What other emitters write -----------------------------------------------------------------
# OpenLLMetry (traceloop) legacy names
OPENLLMETRY_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
OPENLLMETRY_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
OPENLLMETRY_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read_input_tokens"
OPENLLMETRY_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation_input_tokens"
OPENLLMETRY_REASONING_TOKENS: Final = "gen_ai.usage.reasoning_tokens"
LLM_USAGE_PROMPT_TOKENS: Final = "llm.usage.prompt_tokens"
LLM_USAGE_COMPLETION_TOKENS: Final = "llm.usage.completion_tokens"
LLM_USAGE_TOTAL_TOKENS: Final = "llm.usage.total_tokens"
LLM_USAGE_CACHE_READ_INPUT_TOKENS: Final = "llm.usage.cache_read_input_tokens"
LLM_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "llm.usage.cache_creation_input_tokens"
LLM_USAGE_REASONING_TOKENS: Final = "llm.usage.reasoning_tokens"
LLM_REQUEST_TYPE: Final = "llm.request.type"
OPENLLMETRY_IS_STREAMING: Final = "gen_ai.is_streaming"
LLM_IS_STREAMING: Final = "llm.is_streaming"
# OpenInference (Arize/Phoenix)
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
OPENINFERENCE_KIND_LLM: Final = "LLM"
OPENINFERENCE_KIND_EMBEDDING: Final = "EMBEDDING"
OPENINFERENCE_MODEL_NAME: Final = "llm.model_name"
OPENINFERENCE_PROVIDER: Final = "llm.provider"
OPENINFERENCE_SYSTEM: Final = "llm.system"
OPENINFERENCE_PROMPT: Final = "llm.token_count.prompt"
OPENINFERENCE_COMPLETION: Final = "llm.token_count.completion"
OPENINFERENCE_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
OPENINFERENCE_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
OPENINFERENCE_PROMPT_AUDIO: Final = "llm.token_count.prompt_details.audio"
OPENINFERENCE_REASONING: Final = "llm.token_count.completion_details.reasoning"
OPENINFERENCE_COMPLETION_AUDIO: Final = "llm.token_count.completion_details.audio"
OPENINFERENCE_COST_TOTAL: Final = "llm.cost.total"
# OpenLIT
OPENLIT_SCOPE: Final = "openlit.otel.tracing"
OPENLIT_COST: Final = "gen_ai.usage.cost"
OPENLIT_REASONING_TOKENS: Final = "gen_ai.usage.completion_tokens_details.reasoning_tokens"
OPENLIT_CACHE_READ: Final = "gen_ai.usage.prompt_tokens_details.cached_tokens"
# The anthropic SDK's own spans (scope com.anthropic.sdk.python): input_tokens include cache.
ANTHROPIC_SDK_SCOPE: Final = "com.anthropic.sdk.python"
ANTHROPIC_CACHE_WRITE_5M: Final = "anthropic.usage.cache_creation.ephemeral_5m_input_tokens"
ANTHROPIC_CACHE_WRITE_1H: Final = "anthropic.usage.cache_creation.ephemeral_1h_input_tokens"
ANTHROPIC_SERVICE_TIER: Final = "anthropic.response.service_tier"
ANTHROPIC_STOP_REASON: Final = "anthropic.message.stop_reason"
# The official openai-v2 instrumentation before the openai.* rename.
GEN_AI_OPENAI_RESPONSE_SERVICE_TIER_DEPRECATED: Final = "gen_ai.openai.response.service_tier"

# --- OTel metrics emitted in-process (GenAI semconv) --------------------------------------------
METRIC_GEN_AI_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_GEN_AI_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_GEN_AI_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_LLMCOST_COST: Final = "llmcost.client.cost"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

# --- Prometheus metrics (collector) ------------------------------------------------------------
PROM_COST_USD: Final = "llmcost_cost_usd"  # counter; exposed as llmcost_cost_usd_total
PROM_TOKENS: Final = "llmcost_tokens"
PROM_REQUESTS: Final = "llmcost_requests"
PROM_REQUEST_DURATION: Final = "llmcost_request_duration_seconds"
PROM_UNPRICED_REQUESTS: Final = "llmcost_unpriced_requests"
PROM_COST_DISCREPANCY: Final = "llmcost_reported_cost_discrepancies"
PROM_BUDGET_SPENT: Final = "llmcost_budget_spent_usd"
PROM_BUDGET_LIMIT: Final = "llmcost_budget_limit_usd"
PROM_BUDGET_UTILIZATION: Final = "llmcost_budget_utilization_ratio"
PROM_BUDGET_FORECAST: Final = "llmcost_budget_forecast_usd"
# A token budget's spend, limit and forecast in tokens (input plus output), beside the USD family.
PROM_BUDGET_SPENT_TOKENS: Final = "llmcost_budget_spent_tokens"
PROM_BUDGET_LIMIT_TOKENS: Final = "llmcost_budget_limit_tokens"
PROM_BUDGET_FORECAST_TOKENS: Final = "llmcost_budget_forecast_tokens"
PROM_SPANS_RECEIVED: Final = "llmcost_collector_spans_received"
PROM_SPANS_REJECTED: Final = "llmcost_collector_spans_rejected"
PROM_QUEUE_DEPTH: Final = "llmcost_collector_queue_depth"
PROM_QUEUE_CAPACITY: Final = "llmcost_collector_queue_capacity"
PROM_LEDGER_WRITE_ERRORS: Final = "llmcost_collector_ledger_write_errors"
PROM_LEDGER_WRITE_SECONDS: Final = "llmcost_collector_ledger_write_seconds"
PROM_LABEL_OVERFLOW: Final = "llmcost_collector_label_overflow"
PROM_PROCESS_CPU_SECONDS: Final = "llmcost_collector_process_cpu_seconds"
PROM_PROCESS_RESIDENT_MEMORY: Final = "llmcost_collector_process_resident_memory_bytes"
PROM_PROCESS_THREADS: Final = "llmcost_collector_process_threads"
PROM_PROCESS_OPEN_FDS: Final = "llmcost_collector_process_open_fds"
PROM_EXPORTS: Final = "llmcost_collector_exports"  # {receiver, outcome}: every export request answered
PROM_FORWARD_SPANS: Final = "llmcost_collector_forward_spans"  # {endpoint}: spans delivered downstream
PROM_FORWARD_DROPPED: Final = "llmcost_collector_forward_dropped"  # {endpoint, reason}: spans given up
PROM_FORWARD_RETRIES: Final = "llmcost_collector_forward_retries"  # {endpoint}: failed attempts retried
PROM_FORWARD_QUEUE_SPANS: Final = "llmcost_collector_forward_queue_spans"  # {endpoint}
PROM_FORWARD_QUEUE_BYTES: Final = "llmcost_collector_forward_queue_bytes"  # {endpoint}
PROM_FORWARD_QUEUE_CAPACITY: Final = "llmcost_collector_forward_queue_capacity_bytes"  # {endpoint}
# Anomalies and forecast (otel_llmcost.collector._analytics): gauges alert rules can use.
PROM_ANOMALY_RATIO: Final = "llmcost_anomaly_ratio"  # {kind}: trailing hour / its baseline
PROM_ANOMALY_VALUE: Final = "llmcost_anomaly_value"  # {kind}: trailing hour (USD or tokens)
PROM_ANOMALY_BASELINE: Final = "llmcost_anomaly_baseline"  # {kind}: median of that hour in past weeks
PROM_DAILY_COST: Final = "llmcost_daily_cost_usd"  # spend of the current UTC day so far
PROM_DAILY_COST_THRESHOLD: Final = "llmcost_daily_cost_threshold_usd"  # configured; absent when not
PROM_FORECAST: Final = "llmcost_forecast_usd"  # {window, bound}: projected spend at the window's end
ANOMALY_HOURLY_COST: Final = "hourly_cost"  # values of the kind label
ANOMALY_HOURLY_TOKENS: Final = "hourly_tokens"

# Prometheus label names (bounded sets only)
LABEL_PROVIDER: Final = "provider"
LABEL_MODEL: Final = "model"
LABEL_OPERATION: Final = "operation"
LABEL_SERVICE: Final = "service"
LABEL_TEAM: Final = "team"
LABEL_PROJECT: Final = "project"
LABEL_ENVIRONMENT: Final = "environment"
LABEL_BUDGET: Final = "budget"
LABEL_BUDGET_KEY: Final = "key"  # a per-key budget's value; not "instance", which Prometheus owns
LABEL_TYPE: Final = "type"
LABEL_STATUS: Final = "status"
LABEL_REASON: Final = "reason"
LABEL_USER: Final = "user"
LABEL_THREAD: Final = "thread"
LABEL_LABEL: Final = "label"  # of llmcost_collector_label_overflow_total
LABEL_RECEIVER: Final = "receiver"  # grpc | http
LABEL_OUTCOME: Final = "outcome"  # of llmcost_collector_exports_total
LABEL_ENDPOINT: Final = "endpoint"  # a configured forward endpoint's name
LABEL_KIND: Final = "kind"  # of llmcost_anomaly_*: hourly_cost | hourly_tokens
LABEL_WINDOW: Final = "window"  # of llmcost_forecast_usd: month
LABEL_BOUND: Final = "bound"  # of llmcost_forecast_usd: point | low | high (the 80% interval)
OVERFLOW_LABEL_VALUE: Final = "__overflow__"

# Token bucket names, used as the `type` label and in breakdowns
TOKEN_INPUT: Final = "input"
TOKEN_OUTPUT: Final = "output"
TOKEN_CACHE_READ: Final = "cache_read"
TOKEN_CACHE_WRITE: Final = "cache_write"
TOKEN_REASONING: Final = "reasoning"
