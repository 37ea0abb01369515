package importmanifest

import (
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"herd.dev/herd/internal/wellknown"
)

const (
	agentReplicas = 2
	hostnameKey   = "kubernetes.io/hostname"
	tmpVolume     = "tmp"
	nonRootUID    = wellknown.ImageUID
	// The node agents' credentials (url, ca-checksum, token), which the
	// cluster agent stores (agent.NodeCredentialsSecret).
	nodeCredentialsSecret = "herd-node-credentials"
	nodeCredentialsVolume = "node-credentials"
	nodeCredentialsDir    = "/etc/herd/node"
	// Health ports of the agents, on the node's address (they use the
	// host's network): /healthz and /readyz.
	agentHealthPort     = 9445
	nodeAgentHealthPort = 9446
	healthPortName      = "health"
)

// Placement. Herd's pods use the host's network: they work before and
// without a pod network, and reach what the node reaches (a server on the
// node's loopback in local clusters). They never go to simulated (kwok)
// nodes, which by kwok's convention carry the label type=kwok and run no
// container; they tolerate NoRegistryTaint, the mark of nodes that run
// only images imported into them, as Herd's image is.
const (
	simulatedNodeLabel = "type"
	simulatedNodeValue = "kwok"
)

// placeOnRealNodes keeps spec's pods off simulated nodes, lets them onto
// nodes without a registry, and puts them in the host's network.
func placeOnRealNodes(spec *corev1.PodSpec) {
	spec.HostNetwork = true
	spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	if !slices.ContainsFunc(spec.Tolerations, func(t corev1.Toleration) bool { return t.Key == "" && t.Operator == corev1.TolerationOpExists }) {
		spec.Tolerations = append(spec.Tolerations, corev1.Toleration{Key: wellknown.NoRegistryTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
	}
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	spec.Affinity.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
			Key: simulatedNodeLabel, Operator: corev1.NodeSelectorOpNotIn, Values: []string{simulatedNodeValue},
		}}}},
	}}
}

// withHealth makes c serve its probes on the pod's address (the node's,
// in the host network) at port, and points liveness (/healthz) and
// readiness (/readyz) there. The port is declared as a host port so that
// the scheduler keeps two users of it off one node.
func withHealth(c *corev1.Container, port int32) {
	c.Args = append(c.Args, "--health-addr=$(POD_IP):"+strconv.Itoa(int(port)))
	c.Env = append(c.Env, corev1.EnvVar{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "status.podIP"},
	}})
	c.Ports = []corev1.ContainerPort{{Name: healthPortName, ContainerPort: port, HostPort: port, Protocol: corev1.ProtocolTCP}}
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(healthPortName)}},
			PeriodSeconds: 10, FailureThreshold: 3}
	}
	c.LivenessProbe, c.ReadinessProbe = probe("/healthz"), probe("/readyz")
}

// deployment runs the cluster agent: two replicas on different nodes where
// there are two, allowed onto control-plane nodes.
func deployment(p Params) *appsv1.Deployment {
	labels := map[string]string{"app": agentName}
	podNamespace := corev1.EnvVar{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
	}}
	c := container("agent", p.image(), credentialEnv(keyCluster, "HERD_CLUSTER"))
	c.Env = append(c.Env, podNamespace)
	withHealth(&c, agentHealthPort)
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
	spec := podSpec(agentName, c)
	spreadAgents(&spec, labels)
	placeOnRealNodes(&spec)
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(1)
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: meta(wellknown.Namespace, agentName, labels),
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(agentReplicas)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			Template: corev1.PodTemplateSpec{ObjectMeta: meta("", "", labels), Spec: spec},
		},
	}
}

// spreadAgents puts the agent pods (selected by labels) on different nodes
// where there are enough, and lets them onto control-plane nodes.
func spreadAgents(spec *corev1.PodSpec, labels map[string]string) {
	selector := &metav1.LabelSelector{MatchLabels: labels}
	spec.Tolerations = []corev1.Toleration{{
		Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
	}}
	spec.TopologySpreadConstraints = []corev1.TopologySpreadConstraint{{
		MaxSkew: 1, TopologyKey: hostnameKey, WhenUnsatisfiable: corev1.DoNotSchedule, LabelSelector: selector,
		// Count only pods of the same revision, so that a rollout is not
		// held up by the pods it replaces.
		MatchLabelKeys: []string{appsv1.DefaultDeploymentUniqueLabelKey},
	}}
	spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight:          100,
			PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: hostnameKey, LabelSelector: selector.DeepCopy()},
		}},
	}}
}

// daemonSet runs the node agent on every node, whatever its taints,
// without Herd credentials.
func daemonSet(p Params) *appsv1.DaemonSet {
	labels := map[string]string{"app": nodeAgentName}
	nodeName := corev1.EnvVar{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"},
	}}
	// The node agent gets no agent credential (the agent token is the
	// cluster agent's alone): the node agents' token, which the cluster
	// agent stores in its own Secret once registered, opens the fallback
	// tunnel and nothing else. The tunnel may dial only the kube-apiserver
	// as pods reach it (the kubernetes Service).
	c := lockedDown("node-agent", p.image(), "node-agent", "--credentials-dir", nodeCredentialsDir,
		"--apiserver", "$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)")
	c.Env = []corev1.EnvVar{nodeName}
	withHealth(&c, nodeAgentHealthPort)
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: nodeCredentialsVolume, MountPath: nodeCredentialsDir, ReadOnly: true})
	spec := podSpec(nodeAgentName, c)
	spec.AutomountServiceAccountToken = new(false)
	// Readable by the image's user through the group: 0440, group 65532.
	spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: new(int64(nonRootUID))}
	spec.Volumes = append(spec.Volumes, corev1.Volume{Name: nodeCredentialsVolume, VolumeSource: corev1.VolumeSource{
		// Optional: it exists once the cluster agent registered.
		Secret: &corev1.SecretVolumeSource{SecretName: nodeCredentialsSecret, Optional: new(true), DefaultMode: new(int32(0o440))},
	}})
	spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	placeOnRealNodes(&spec)
	return &appsv1.DaemonSet{
		TypeMeta:   typeMeta("apps/v1", "DaemonSet"),
		ObjectMeta: meta(wellknown.Namespace, nodeAgentName, labels),
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: labels},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
			Template:       corev1.PodTemplateSpec{ObjectMeta: meta("", "", labels), Spec: spec},
		},
	}
}

// container returns a locked-down agent container running `herd <name>`
// with the server credentials in its environment, then extra.
func container(name, image string, extra corev1.EnvVar) corev1.Container {
	c := lockedDown(name, image, name)
	c.Env = []corev1.EnvVar{
		credentialEnv(keyURL, "HERD_SERVER"),
		credentialEnv(keyToken, "HERD_TOKEN"),
		credentialEnv(keyCAChecksum, "HERD_CA_CHECKSUM"),
		extra,
	}
	return c
}

// lockedDown returns a container running `herd args...` as a non-root user
// on a read-only root file system, with no capabilities and a writable /tmp.
func lockedDown(name, image string, args ...string) corev1.Container {
	return corev1.Container{
		Name:  name,
		Image: image,
		Args:  args,
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("50m"),
			corev1.ResourceMemory: resource.MustParse("64Mi"),
		}},
		VolumeMounts: []corev1.VolumeMount{{Name: tmpVolume, MountPath: "/tmp"}},
		SecurityContext: &corev1.SecurityContext{
			// A numeric user lets the kubelet verify runAsNonRoot whatever
			// the image says; 65532 is distroless "nonroot".
			RunAsUser:                new(int64(nonRootUID)),
			RunAsGroup:               new(int64(nonRootUID)),
			RunAsNonRoot:             new(true),
			ReadOnlyRootFilesystem:   new(true),
			AllowPrivilegeEscalation: new(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// credentialEnv is the environment variable env read from key of the
// credentials Secret.
func credentialEnv(key, env string) corev1.EnvVar {
	return corev1.EnvVar{Name: env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: key,
	}}}
}

// podSpec runs c as the service account sa, with a writable /tmp.
func podSpec(sa string, c corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName: sa,
		Containers:         []corev1.Container{c},
		Volumes: []corev1.Volume{{
			Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		}},
	}
}
