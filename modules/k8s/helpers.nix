# Shared pieces of the objects: labels, the restricted security contexts, probes.
{ lib }:
rec {
  # Labels of every object of one component; `k8s-generated/` groups files by the component.
  labels = component: {
    "app.kubernetes.io/name" = component;
    "app.kubernetes.io/component" = component;
    "app.kubernetes.io/part-of" = "mcp-gateway";
  };
  selector = component: { "app.kubernetes.io/name" = component; };

  # Pod-level security context: a fixed unprivileged user, group-writable volumes.
  podSecurity = {
    runAsNonRoot = true;
    runAsUser = 65534;
    runAsGroup = 65534;
    fsGroup = 65534;
    seccompProfile.type = "RuntimeDefault";
  };
  # Container-level security context.
  containerSecurity = {
    runAsNonRoot = true;
    allowPrivilegeEscalation = false;
    readOnlyRootFilesystem = true;
    capabilities.drop = [ "ALL" ];
  };

  httpProbe = path: port: period: {
    httpGet = { inherit path port; };
    periodSeconds = period;
    timeoutSeconds = 3;
    failureThreshold = 3;
  };

  # A namespaced object of `component` in the appliance namespace.
  meta = component: { labels = labels component; };
  # A cluster-scoped object (kubenix stamps the default namespace on everything).
  clusterMeta = component: {
    labels = labels component;
    namespace = lib.mkForce null;
  };

  toTomlList = xs: "[" + lib.concatMapStringsSep ", " builtins.toJSON xs + "]";
}
