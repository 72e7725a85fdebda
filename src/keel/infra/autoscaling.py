"""Target-tracking autoscaling for an ECS service (shared by the web and worker services)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from keel import constants
from keel.infra.outputs import concat

#: Scale out fast, scale in slowly: a web task takes traffic a minute after starting,
#: and a worker that scales in too eagerly interrupts runs (they resume, but later).
SCALE_OUT_COOLDOWN = 60
SCALE_IN_COOLDOWN = 300


def scalable_target(
    resource_name: str,
    *,
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    min_count: int,
    max_count: int,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> aws.appautoscaling.Target:
    """Register an ECS service's desired count with Application Auto Scaling."""
    return aws.appautoscaling.Target(
        resource_name,
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=concat("service/", cluster_name, "/", service_name),
        min_capacity=min_count,
        max_capacity=max_count,
        tags=tags,
        opts=opts,
    )


def cpu_policy(
    resource_name: str,
    *,
    target: aws.appautoscaling.Target,
    target_percent: float,
    opts: pulumi.ResourceOptions,
) -> aws.appautoscaling.Policy:
    """Keep the service's average CPU near ``target_percent``."""
    return aws.appautoscaling.Policy(
        resource_name,
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "target_value": target_percent,
            "predefined_metric_specification": {
                "predefined_metric_type": "ECSServiceAverageCPUUtilization"
            },
            "scale_in_cooldown": SCALE_IN_COOLDOWN,
            "scale_out_cooldown": SCALE_OUT_COOLDOWN,
        },
        opts=opts,
    )


def running_tasks_query(cluster_name: Any, service_name: Any) -> Any:
    """The service's running task count (Container Insights), the divisor of a per-task metric."""
    return {
        "id": "tasks",
        "return_data": False,
        "metric_stat": {
            "stat": "Average",
            "metric": {
                "namespace": "ECS/ContainerInsights",
                "metric_name": "RunningTaskCount",
                "dimensions": [
                    {"name": "ClusterName", "value": cluster_name},
                    {"name": "ServiceName", "value": service_name},
                ],
            },
        },
    }


def per_task_expression(metric_id: str, label: str) -> Any:
    """``metric_id`` per running task; with no task running, the whole of it (scale out)."""
    return {
        "id": "per_task",
        "expression": (
            f"IF(FILL(tasks, 0) >= 1, FILL({metric_id}, 0) / tasks, FILL({metric_id}, 0))"
        ),
        "label": label,
        "return_data": True,
    }


def requests_per_task_policy(
    resource_name: str,
    *,
    target: aws.appautoscaling.Target,
    load_balancer_arn_suffix: pulumi.Input[str],
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    requests_per_task_per_minute: float,
    opts: pulumi.ResourceOptions,
) -> aws.appautoscaling.Policy:
    """Keep the ALB's requests a minute per running task near the target.

    ALBRequestCountPerTarget names one target group, but canary and blue/green
    deployments move the service between two; the ALB's request count over the
    service's running tasks (Container Insights) follows it whichever one serves.
    """
    return aws.appautoscaling.Policy(
        resource_name,
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "target_value": requests_per_task_per_minute,
            "customized_metric_specification": {
                "metrics": [
                    {
                        "id": "requests",
                        "return_data": False,
                        "metric_stat": {
                            "stat": "Sum",
                            "metric": {
                                "namespace": "AWS/ApplicationELB",
                                "metric_name": "RequestCount",
                                "dimensions": [
                                    {"name": "LoadBalancer", "value": load_balancer_arn_suffix}
                                ],
                            },
                        },
                    },
                    running_tasks_query(cluster_name, service_name),
                    per_task_expression("requests", "ALB requests a minute per running web task"),
                ]
            },
            "scale_in_cooldown": SCALE_IN_COOLDOWN,
            "scale_out_cooldown": SCALE_OUT_COOLDOWN,
        },
        opts=opts,
    )


def backlog_per_task_policy(
    resource_name: str,
    *,
    target: aws.appautoscaling.Target,
    cluster_name: pulumi.Input[str],
    service_name: pulumi.Input[str],
    backlog_per_task: float,
    opts: pulumi.ResourceOptions,
) -> aws.appautoscaling.Policy:
    """Keep the runs and tasks waiting per running worker task near ``backlog_per_task``.

    Every worker publishes the same database-wide QueuedWork (keel.tasks.worker), so its
    Maximum is the backlog; divided by the service's running tasks (Container Insights)
    it is the work waiting for each. With no task running the backlog itself counts, so
    a service at zero still scales out.
    """
    return aws.appautoscaling.Policy(
        resource_name,
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "target_value": backlog_per_task,
            "customized_metric_specification": {
                "metrics": [
                    {
                        "id": "queued",
                        "return_data": False,
                        "metric_stat": {
                            "stat": "Maximum",
                            "metric": {
                                "namespace": constants.METRICS_NAMESPACE,
                                "metric_name": constants.QUEUED_WORK,
                                "dimensions": [
                                    {
                                        "name": constants.METRIC_SERVICE_DIMENSION,
                                        "value": service_name,
                                    }
                                ],
                            },
                        },
                    },
                    running_tasks_query(cluster_name, service_name),
                    per_task_expression("queued", "runs and tasks waiting per running worker task"),
                ]
            },
            "scale_in_cooldown": SCALE_IN_COOLDOWN,
            "scale_out_cooldown": SCALE_OUT_COOLDOWN,
        },
        opts=opts,
    )
