{{/*
The topology summary rendered by `make chart` (files/mesh.json): ports, modules and env prefixes.
*/}}
{{- define "shopmesh.mesh" -}}
{{- .Files.Get "files/mesh.json" -}}
{{- end }}

{{- define "shopmesh.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every resource name. 40 characters at most, so that "<fullname>-envoy-internal" and the other
Service names stay DNS labels (63).
*/}}
{{- define "shopmesh.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "shopmesh.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels of one component. Call with (dict "root" $ "component" "users").
*/}}
{{- define "shopmesh.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shopmesh.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
Every label of one component's resources. Call with (dict "root" $ "component" "users").
*/}}
{{- define "shopmesh.labels" -}}
helm.sh/chart: {{ include "shopmesh.chart" .root }}
{{ include "shopmesh.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: shopmesh
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "shopmesh.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/*
Pod-level security: the image's unprivileged user (uid/gid 10001), RuntimeDefault seccomp.
*/}}
{{- define "shopmesh.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .uid | default 10001 }}
runAsGroup: {{ .uid | default 10001 }}
fsGroup: {{ .uid | default 10001 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "shopmesh.containerSecurityContext" -}}
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/*
DNS name of a service's headless Service: one A record per ready pod, which Envoy's DNS cluster balances
across. Fully qualified, so it resolves whatever the pod's search domains.
*/}}
{{- define "shopmesh.serviceHost" -}}
{{- printf "%s-%s.%s.svc.%s" (include "shopmesh.fullname" .root) .service .root.Release.Namespace .root.Values.clusterDomain }}
{{- end }}

{{- define "shopmesh.serviceAccountName" -}}
{{- $sa := .values.serviceAccount }}
{{- if $sa.create }}
{{- default (printf "%s-%s" (include "shopmesh.fullname" .root) .component) $sa.name }}
{{- else }}
{{- default "default" $sa.name }}
{{- end }}
{{- end }}

{{- define "shopmesh.jwtSecretName" -}}
{{- default (printf "%s-jwt" (include "shopmesh.fullname" .)) .Values.jwt.existingSecret }}
{{- end }}

{{- define "shopmesh.postgresqlSecretName" -}}
{{- default (printf "%s-postgresql" (include "shopmesh.fullname" .)) .Values.postgresql.auth.existingSecret }}
{{- end }}

{{/*
The broker every service publishes to and consumes from: the bundled node's client Service, or nats.url.
*/}}
{{- define "shopmesh.natsUrl" -}}
{{- if .Values.nats.enabled }}
{{- $mesh := include "shopmesh.mesh" . | fromJson }}
{{- printf "nats://%s-nats:%d" (include "shopmesh.fullname" .) (int $mesh.broker.port) }}
{{- else }}
{{- .Values.nats.url }}
{{- end }}
{{- end }}

{{/*
Port of an external broker, for the NetworkPolicies: the one in nats.url, else NATS' default.
*/}}
{{- define "shopmesh.natsExternalPort" -}}
{{- $port := regexFind ":[0-9]+$" (urlParse .Values.nats.url).host | trimPrefix ":" }}
{{- default "4222" $port }}
{{- end }}

{{/*
Where the SMTP URL is, when notifications send real mail: (dict "name" <Secret> "key" <key>), or empty.
*/}}
{{- define "shopmesh.smtpSecret" -}}
{{- $smtp := .Values.notifications.smtp }}
{{- if $smtp.existingSecret }}
{{- dict "name" $smtp.existingSecret "key" $smtp.existingSecretKey | toJson }}
{{- else if $smtp.url }}
{{- dict "name" (printf "%s-notifications-smtp" (include "shopmesh.fullname" .)) "key" "url" | toJson }}
{{- end }}
{{- end }}

{{/*
Fails early on combinations the schema cannot express in a readable way.
*/}}
{{- define "shopmesh.validate" -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.existingSecret) }}
{{- fail "\n\nshopmesh: no database. Either keep the bundled PostgreSQL (postgresql.enabled=true, for trying it out) or set externalDatabase.existingSecret to a Secret holding one postgresql:// URL per service (keys: externalDatabase.secretKeys)." }}
{{- end }}
{{- if and .Values.postgresql.enabled .Values.externalDatabase.existingSecret }}
{{- fail "\n\nshopmesh: externalDatabase.existingSecret is set but the bundled PostgreSQL is enabled too; set postgresql.enabled=false to use the external databases." }}
{{- end }}
{{- if and (not .Values.nats.enabled) (not .Values.nats.url) }}
{{- fail "\n\nshopmesh: no event broker. Either keep the bundled NATS node (nats.enabled=true, for trying it out) or set nats.url to your JetStream cluster (nats://HOST:4222)." }}
{{- end }}
{{- if and .Values.nats.enabled .Values.nats.url }}
{{- fail "\n\nshopmesh: nats.url is set but the bundled NATS node is enabled too; set nats.enabled=false to use that broker." }}
{{- end }}
{{- if and .Values.nats.enabled (gt (int .Values.nats.streamReplicas) 1) }}
{{- fail "\n\nshopmesh: nats.streamReplicas > 1 needs a JetStream cluster of that many nodes; the bundled NATS is one node (keep 1, or use an external cluster with nats.enabled=false and nats.url)." }}
{{- end }}
{{- if and .Values.notifications.smtp.url .Values.notifications.smtp.existingSecret }}
{{- fail "\n\nshopmesh: set one of notifications.smtp.url and notifications.smtp.existingSecret, not both." }}
{{- end }}
{{- $mesh := include "shopmesh.mesh" . | fromJson }}
{{- range $name, $_ := .Values.services }}
{{- if not (hasKey $mesh.services $name) }}
{{- fail (printf "\n\nshopmesh: services.%s is not a service of the topology (%s)" $name (keys $mesh.services | sortAlpha | join ", ")) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A service's values: its services.<name> block merged over serviceDefaults (a service of the topology without a
block gets the defaults). Call with (dict "root" $ "name" "users"); returns JSON (fromJson it).
*/}}
{{- define "shopmesh.serviceValues" -}}
{{- $own := index .root.Values.services .name | default dict }}
{{- mergeOverwrite (deepCopy .root.Values.serviceDefaults) (deepCopy $own) | toJson }}
{{- end }}

{{/*
Environment of a service container. Call with (dict "root" $ "name" "users" "mesh" <mesh.json service>).
The database URL is built from the Secret at run time ($(VAR) expansion), so no credential is in the spec.
*/}}
{{- define "shopmesh.serviceEnv" -}}
{{- $root := .root }}
{{- $prefix := .mesh.envPrefix }}
{{- $values := include "shopmesh.serviceValues" (dict "root" $root "name" .name) | fromJson }}
{{- $fullname := include "shopmesh.fullname" $root }}
{{- $meshAll := include "shopmesh.mesh" $root | fromJson }}
- name: {{ $prefix }}_HOST
  value: "0.0.0.0"
- name: {{ $prefix }}_PORT
  value: {{ .mesh.port | int | quote }}
- name: {{ $prefix }}_WORKERS
  value: {{ $values.workers | quote }}
- name: {{ $prefix }}_GRACE_SECONDS
  value: {{ $values.drainSeconds | quote }}
- name: {{ $prefix }}_METRICS_PORT
  value: {{ $root.Values.observability.prometheus.port | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: SHOPMESH_REPLICA
  value: "$(POD_NAME)"
- name: SHOPMESH_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: SHOPMESH_DATA_DIR
  value: /tmp/shopmesh
- name: MESH_INTERNAL_ADDR
  value: {{ printf "%s-envoy-internal:%d" $fullname (int $meshAll.gateway.internalPort) | quote }}
- name: SHOPMESH_NATS_URL
  value: {{ include "shopmesh.natsUrl" $root | quote }}
- name: SHOPMESH_NATS_STREAM_REPLICAS
  value: {{ $root.Values.nats.streamReplicas | quote }}
{{- if $root.Values.postgresql.enabled }}
- name: SHOPMESH_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "shopmesh.postgresqlSecretName" $root }}
      key: {{ .name }}-password
- name: {{ $prefix }}_DATABASE_URL
  value: {{ printf "postgresql://shopmesh_%s:$(SHOPMESH_DATABASE_PASSWORD)@%s-postgresql:5432/shopmesh_%s" .name $fullname .name | quote }}
{{- else }}
- name: {{ $prefix }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.externalDatabase.existingSecret }}
      key: {{ index $root.Values.externalDatabase.secretKeys .name | default .name }}
{{- end }}
{{- if eq .name "users" }}
- name: {{ $prefix }}_JWT_KEY_DIR
  value: /var/run/secrets/shopmesh/jwt
- name: {{ $prefix }}_JWT_KEY_CREATE
  value: "false"
- name: {{ $prefix }}_JWT_ISSUER
  value: {{ $root.Values.jwt.issuer | quote }}
- name: {{ $prefix }}_JWT_AUDIENCE
  value: {{ $root.Values.jwt.audience | quote }}
- name: {{ $prefix }}_TOKEN_TTL_SECONDS
  value: {{ $root.Values.jwt.tokenTtlSeconds | quote }}
{{- end }}
{{- if eq .name "orders" }}
- name: {{ $prefix }}_CALL_TIMEOUT_SECONDS
  value: {{ $root.Values.callTimeoutSeconds | quote }}
{{- end }}
{{- if eq .name "notifications" }}
- name: {{ $prefix }}_MAIL_FROM
  value: {{ $root.Values.notifications.mailFrom | quote }}
{{- with include "shopmesh.smtpSecret" $root }}
{{- $smtp := fromJson . }}
- name: {{ $prefix }}_SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ $smtp.name }}
      key: {{ $smtp.key }}
{{- else }}
- name: SHOPMESH_MAIL_DIR
  value: /var/lib/shopmesh/mail
{{- end }}
{{- end }}
{{- with $root.Values.observability.tracing }}
{{- if .otlpEndpoint }}
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .otlpEndpoint | quote }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "k8s.namespace.name=$(POD_NAMESPACE),k8s.pod.name=$(POD_NAME)%s" (ternary (printf ",%s" .resourceAttributes) "" (ne .resourceAttributes "")) | quote }}
{{- end }}
{{- end }}
{{- with $values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Default spread: pods of one component on different nodes where possible.
*/}}
{{- define "shopmesh.topologySpread" -}}
{{- if .values.topologySpreadConstraints }}
{{- toYaml .values.topologySpreadConstraints }}
{{- else }}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "shopmesh.selectorLabels" (dict "root" .root "component" .component) | nindent 6 }}
{{- end }}
{{- end }}

{{/*
Scheduling fields shared by every pod template. Call with (dict "root" $ "values" <component values>).
*/}}
{{- define "shopmesh.scheduling" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
Envoy's admin interface is loopback-only (it is unauthenticated and can change the server), so the kubelet
cannot reach it; probes and the preStop drain run inside the container, where 127.0.0.1 is Envoy's.
Call with (dict "path" "/ready" "port" <admin port> "method" "GET").
*/}}
{{- /*
Envoy is ready when its admin interface says so (/ready: listeners up, clusters initialised) and jwt_authn has
fetched the token signing keys at least once: until then every call with a token would get 401.
*/}}
{{- define "shopmesh.envoyReadyCommand" -}}
- python
- -c
- {{ printf "import sys, urllib.request as u; get = lambda url: u.urlopen(url, timeout=3); ready = get('http://127.0.0.1:%d/ready').status == 200; stats = get('http://127.0.0.1:%d/stats?filter=jwt_authn.jwks_fetch_success').read().decode().split(); counts = [int(v) for v in stats[1::2]]; sys.exit(0 if ready and counts and min(counts) > 0 else 1)" (int .port) (int .port) | quote }}
{{- end }}

{{- define "shopmesh.envoyAdminCommand" -}}
- python
- -c
- {{ printf "import sys, urllib.request as u; r = u.urlopen(u.Request('http://127.0.0.1:%d%s', method='%s'), timeout=3); sys.exit(0 if r.status == 200 else 1)" (int .port) .path .method | quote }}
{{- end }}
