"""Microsoft.Resources: subscriptions and resource groups (seeded only, read-only here)."""

from __future__ import annotations

from reconciler.sandbox.arm import (
    Call,
    Result,
    Router,
    World,
    paged,
    public,
    require_resource_group,
    require_subscription,
)

T_SUBSCRIPTION = "Microsoft.Resources/subscriptions"
T_RESOURCE_GROUP = "Microsoft.Resources/resourceGroups"


def subscription_get(world: World, call: Call) -> Result:
    return Result(200, public(require_subscription(world, call.params["sub"])))


def subscription_list(world: World, call: Call) -> Result:
    return paged(world, call, [public(d) for d in world.tx.of_type(T_SUBSCRIPTION)])


def group_get(world: World, call: Call) -> Result:
    return Result(200, public(require_resource_group(world, call.params["sub"], call.params["rg"])))


def group_list(world: World, call: Call) -> Result:
    require_subscription(world, call.params["sub"])
    docs = world.tx.of_type(T_RESOURCE_GROUP, call.params["sub"])
    return paged(world, call, [public(d) for d in docs])


def register(router: Router) -> None:
    router.add("/subscriptions", "Subscriptions_List", get=subscription_list)
    router.add("/subscriptions/{sub}", "Subscriptions_Get", get=subscription_get)
    router.add("/subscriptions/{sub}/resourceGroups", "ResourceGroups_List", get=group_list)
    router.add("/subscriptions/{sub}/resourceGroups/{rg}", "ResourceGroups_Get", get=group_get)
