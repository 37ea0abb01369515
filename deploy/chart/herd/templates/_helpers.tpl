{{/* The name of every object of the release. */}}
{{- define "herd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "herd.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "herd.labels" -}}
{{ include "herd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "herd.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "herd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "herd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the service account to run as when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "herd.bootstrapSecret" -}}
{{- default (printf "%s-bootstrap" (include "herd.fullname" .)) .Values.existingBootstrapSecret -}}
{{- end -}}

{{/* https://<hostname>[:port], or nothing. */}}
{{- define "herd.serverURL" -}}
{{- if .Values.hostname -}}
{{- if and .Values.hostnamePort (ne (int .Values.hostnamePort) 443) -}}
{{- printf "https://%s:%d" .Values.hostname (int .Values.hostnamePort) -}}
{{- else -}}
{{- printf "https://%s" .Values.hostname -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Checks of values that the schema cannot say; each failure says what to set. */}}
{{- define "herd.validate" -}}
{{- if and (eq .Values.tls.source "secret") (not .Values.tls.secretName) -}}
{{- fail "tls.source=secret needs tls.secretName: the kubernetes.io/tls Secret with your certificate (tls.crt) and key (tls.key)" -}}
{{- end -}}
{{- if and .Values.tls.privateCA (ne .Values.tls.source "secret") -}}
{{- fail "tls.privateCA=true is about your own certificate: set tls.source=secret and tls.secretName too" -}}
{{- end -}}
{{- if and .Values.tls.privateCA (not .Values.tls.caSecretName) -}}
{{- fail "tls.privateCA=true needs tls.caSecretName: the Secret whose key cacerts.pem is the CA bundle that signed your certificate" -}}
{{- end -}}
{{- if and .Values.tls.additionalSANs (ne .Values.tls.source "herd") -}}
{{- fail "tls.additionalSANs are names of Herd's generated certificate: with tls.source=secret put them into your certificate" -}}
{{- end -}}
{{- end -}}
