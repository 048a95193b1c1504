{{- define "rocketfin.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}{{ .Release.Name | trunc 63 | trimSuffix "-" }}{{ else }}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}{{ end }}
{{- end }}

{{- define "rocketfin.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "rocketfin.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "rocketfin.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "rocketfin.serviceAccount" -}}
{{- if .Values.serviceAccount.create }}{{ default (include "rocketfin.fullname" .) .Values.serviceAccount.name }}{{ else }}{{ default "default" .Values.serviceAccount.name }}{{ end }}
{{- end }}

{{- define "rocketfin.cluster" -}}
{{ include "rocketfin.fullname" . }}-pg
{{- end }}

{{/* A setting read from the referenced Secret. */}}
{{- define "rocketfin.secretEnv" -}}
{{- if .key }}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}
{{- end }}

{{/* The environment every RocketFin container gets. */}}
{{- define "rocketfin.env" -}}
- name: ROCKETFIN_PUBLIC_URL
  value: {{ required "publicURL is required" .Values.publicURL | quote }}
- name: ROCKETFIN_DATA_DIR
  value: /tmp/rocketfin
- name: ROCKETFIN_METRICS_ADDR
  value: "0.0.0.0:9090"
{{- if eq .Values.database.mode "cloudnativepg" }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "rocketfin.cluster" . }}-app
      key: uri
{{- else if eq .Values.database.mode "external" }}
{{- include "rocketfin.secretEnv" (dict "name" "DATABASE_URL" "secret" .Values.secrets.existingSecret "key" (required "secrets.databaseURL names the key of DATABASE_URL" .Values.secrets.databaseURL)) }}
{{- else }}
{{- fail "database.mode must be external or cloudnativepg" }}
{{- end }}
{{- $s := .Values.secrets }}
{{- include "rocketfin.secretEnv" (dict "name" "ROCKETFIN_SECRET_KEY" "secret" $s.existingSecret "key" (required "secrets.secretKey is required: replicas must share the secret key" $s.secretKey)) }}
{{- include "rocketfin.secretEnv" (dict "name" "ROCKETFIN_OPERATOR_TOKEN" "secret" $s.existingSecret "key" $s.operatorToken) }}
{{- include "rocketfin.secretEnv" (dict "name" "STRIPE_SECRET_KEY" "secret" $s.existingSecret "key" $s.stripeSecretKey) }}
{{- include "rocketfin.secretEnv" (dict "name" "STRIPE_WEBHOOK_SECRET" "secret" $s.existingSecret "key" $s.stripeWebhookSecret) }}
{{- include "rocketfin.secretEnv" (dict "name" "OIDC_CLIENT_SECRET" "secret" $s.existingSecret "key" $s.oidcClientSecret) }}
{{- include "rocketfin.secretEnv" (dict "name" "ROCKETFIN_SMTP_URL" "secret" $s.existingSecret "key" $s.smtpURL) }}
{{- range $k, $v := .Values.env }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end }}
