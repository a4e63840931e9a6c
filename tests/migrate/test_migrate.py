"""`reconcile migrate`: the spec rewrite (diff, --write, --out) and each refusal, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.migrate import ImageFacts, MigrateOptions, PoolFacts, plan_migration
from reconciler.spec import load_spec
from reconciler.spec.resolved import ResolvedSpec
from reconciler.state.model import canonical_id

ROOT = Path(__file__).resolve().parents[2]
LEGACY = ROOT / "specs" / "legacy"
SUB = "00000000-0000-0000-0000-000000000001"
SUB2 = "00000000-0000-0000-0000-000000000002"
IMAGE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/images/img-legacy-render"
POOL_ID = (
    f"/subscriptions/{SUB}/resourceGroups/rg-legacy/providers/Microsoft.Batch/batchAccounts/"
    "batchlegacy/pools/legacy-render"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["migrate", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    target = tmp_path / "legacy"
    shutil.copytree(LEGACY, target)
    return target


def test_default_shows_a_diff_and_writes_nothing(legacy: Path) -> None:
    """Without --write the migration is a unified diff on stdout; the file is untouched."""
    before = (legacy / "spec.yaml").read_text()
    code, out, err = run(str(legacy), "--gallery", "legacygallery", "--offline")
    assert code == 0, err
    assert "+galleries:" in out
    assert "-        image: {managedImage: img-legacy-render}" in out
    assert (
        "+        image: {gallery: legacygallery, definition: img-legacy-render, version: 1.0.0}"
        in out
    )
    assert "+              managedImage: " + IMAGE_ID in out
    assert "Nothing written" in err
    assert (legacy / "spec.yaml").read_text() == before


def test_write_keeps_every_comment_and_the_result_validates(legacy: Path) -> None:
    """--write rewrites in place: old lines and comments stay, the spec loads, pools move."""
    before = (legacy / "spec.yaml").read_text()
    code, _, err = run(str(legacy), "--gallery", "legacygallery", "--offline", "--write")
    assert code == 0, err
    after = (legacy / "spec.yaml").read_text()
    kept = [line for line in before.splitlines() if "managedImage: img-legacy-render" not in line]
    assert all(line in after.splitlines() for line in kept)
    spec = load_spec([str(legacy)]).spec
    assert spec is not None
    pool = spec.pools["pool:batchlegacy/legacy-render"]
    assert pool.image.id.endswith(
        "/galleries/legacygallery/images/img-legacy-render/versions/1.0.0"
    )
    version = spec.versions["version:legacygallery/img-legacy-render/1.0.0"]
    assert (version.source.kind, version.source.id) == ("managedImage", IMAGE_ID)
    assert dict(version.replicas) == {"westeurope": 1}
    assert "managedImage:img-legacy-render" in spec.managed_images  # kept (R6)
    # Migrating again finds nothing left to move.
    code, out, err = run(str(legacy), "--gallery", "legacygallery", "--offline")
    assert (code, out) == (0, "") and "Nothing to migrate" in err


def test_out_writes_the_migrated_spec_beside(legacy: Path, tmp_path: Path) -> None:
    """--out DIR writes the migrated files there and leaves the originals alone."""
    before = (legacy / "spec.yaml").read_text()
    code, _, err = run(
        str(legacy), "--gallery", "g1", "--offline", "--out", str(tmp_path / "migrated")
    )
    assert code == 0, err
    assert (legacy / "spec.yaml").read_text() == before
    assert load_spec([str(tmp_path / "migrated")]).spec is not None


def test_an_existing_gallery_gets_the_definition(legacy: Path) -> None:
    """A gallery the spec declares is reused: the definition is appended to its images."""
    shutil.copytree(ROOT / "specs" / "production", legacy / "production")
    code, out, err = run(
        str(legacy),
        "--gallery",
        "imagegallery",
        "--offline",
        "--identifier",
        "publisher={team},offer=legacy,sku={image}",
        "--write",
    )
    assert code == 0, err
    images = (legacy / "production" / "images.yaml").read_text()
    assert "identifier: {publisher: vfx, offer: legacy, sku: img-legacy-render}" in images
    assert "+galleries:" not in out
    spec = load_spec([str(legacy)]).spec
    assert spec is not None
    assert "image:imagegallery/img-legacy-render" in spec.images


def test_pools_with_nodes_get_the_drain_option(tmp_path: Path) -> None:
    """A fixed pool that declares no nodeDeallocationOption drains with TaskCompletion."""
    spec_dir = tmp_path / "s"
    shutil.copytree(LEGACY, spec_dir)
    path = spec_dir / "spec.yaml"
    path.write_text(path.read_text().replace(", nodeDeallocationOption: TaskCompletion", ""))
    code, _, err = run(str(spec_dir), "--gallery", "g", "--offline", "--write")
    assert code == 0, err
    assert (
        "fixed: {dedicated: 200, resizeTimeout: PT25M, nodeDeallocationOption: TaskCompletion}"
        in path.read_text()
    )


def options(**kw: str) -> MigrateOptions:
    return MigrateOptions(gallery="legacygallery", **kw)  # type: ignore[arg-type]


def legacy_spec(
    text_edit: tuple[str, str] | None = None,
    tmp: Path | None = None,
    *,
    gallery: str | None = None,
) -> ResolvedSpec:
    """The legacy example spec, with `text_edit` made to its spec.yaml and `gallery` written
    as its gallery.yaml (a copy in `tmp` when either is given)."""
    if text_edit is None and gallery is None:
        spec = load_spec([str(LEGACY)]).spec
    else:
        assert tmp is not None
        spec_dir = tmp / "edited"
        shutil.copytree(LEGACY, spec_dir)
        if text_edit is not None:
            path = spec_dir / "spec.yaml"
            path.write_text(path.read_text().replace(*text_edit))
        if gallery is not None:
            (spec_dir / "gallery.yaml").write_text(gallery)
        spec = load_spec([str(spec_dir)]).spec
    assert spec is not None
    return spec


GENERALIZED = ImageFacts(os_type="Linux", os_state="Generalized", hyper_v_generation="V1")


@pytest.mark.parametrize(
    ("facts", "pools", "code"),
    [
        (ImageFacts("Linux", "Specialized", "V1", source="live"), {}, "RC701"),
        (
            ImageFacts("Linux", "Generalized", "V1", encryption_set="/x/diskEncryptionSets/des1"),
            {},
            "RC702",
        ),
        (ImageFacts("Windows", "Generalized", "V1", source="live"), {}, "RC704"),
    ],
    ids=["specialized", "encrypted", "os-mismatch"],
)
def test_image_refusals(facts: ImageFacts, pools: dict[str, PoolFacts], code: str) -> None:
    """What Azure says of the image stops the migration with its code, at the image or pool."""
    migration = plan_migration(
        legacy_spec(), options(), facts={canonical_id(IMAGE_ID): facts}, pools_now=pools
    )
    assert migration.has_errors
    assert [d.code for d in migration.diagnostics if d.is_error] == [code]
    found = next(d for d in migration.diagnostics if d.code == code)
    assert found.file and found.line and found.hint


def test_pool_in_another_subscription_than_the_gallery(tmp_path: Path) -> None:
    """RC703: the gallery named is declared in another subscription than the pools (R9)."""
    gallery = f"""\
apiVersion: reconcile/v1
galleries:
  - name: othergallery
    subscription: {SUB2}
    resourceGroup: rg-research
    location: westeurope
"""
    spec = legacy_spec(tmp=tmp_path, gallery=gallery)
    migration = plan_migration(spec, MigrateOptions(gallery="othergallery"))
    assert [d.code for d in migration.diagnostics] == ["RC703"]
    assert migration.diagnostics[0].message == (
        f"pool:batchlegacy/legacy-render: its Batch account is in subscription {SUB}, the "
        f"gallery in {SUB2}; a pool boots only gallery images of its own subscription (R9)"
    )


def test_autoscale_pool_above_its_max_nodes(tmp_path: Path) -> None:
    """RC705: an autoscale pool with more nodes now than maxNodes, for which replicas are sized."""
    spec = legacy_spec(
        (
            "fixed: {dedicated: 200, resizeTimeout: PT25M, nodeDeallocationOption: TaskCompletion}",
            "autoScale: {formula: '$TargetDedicatedNodes = 10;', maxNodes: 100}",
        ),
        tmp_path,
    )
    now = {canonical_id(POOL_ID): PoolFacts("Steady", 700, 0)}
    migration = plan_migration(spec, options(), pools_now=now)
    assert [d.code for d in migration.diagnostics] == ["RC705", "RC707"]
    assert migration.diagnostics[0].message == (
        "pool:batchlegacy/legacy-render: it has 700 nodes now, more than its maxNodes 100 "
        "the version's replicas are sized for (R1)"
    )
    assert migration.diagnostics[0].hint == "raise autoScale.maxNodes to at least 700"


def test_identifier_collision_and_unknown_placeholder(tmp_path: Path) -> None:
    """RC706: a template naming no metadata key, or one giving an identifier already taken."""
    spec = legacy_spec()
    unknown = plan_migration(spec, options(identifier="publisher={nope},offer=o,sku=s"))
    assert [d.code for d in unknown.diagnostics] == ["RC706"]
    assert unknown.diagnostics[0].message == (
        "managedImage:img-legacy-render: the identifier template's publisher uses {nope}, "
        "which is neither a placeholder (account, gallery, generation, image, os, pool, team) "
        "nor a metadata key of pool:batchlegacy/legacy-render"
    )
    spec = legacy_spec(
        tmp=tmp_path,
        gallery=f"""\
apiVersion: reconcile/v1
galleries:
  - name: legacygallery
    subscription: {SUB}
    resourceGroup: rg-images
    location: westeurope
    images:
      - name: other
        osType: Linux
        osState: Generalized
        identifier: {{publisher: p, offer: o, sku: s}}
""",
    )
    clash = plan_migration(spec, options(identifier="publisher=p,offer=o,sku=s"))
    assert [d.code for d in clash.diagnostics] == ["RC706"]
    assert clash.diagnostics[0].message == (
        "managedImage:img-legacy-render: identifier p/o/s is already used by "
        "image:legacygallery/other in gallery legacygallery"
    )


def test_a_refusal_writes_nothing_and_exits_1(legacy: Path) -> None:
    """A failed check is printed as file:line:col CODE message with a hint; exit 1."""
    before = (legacy / "spec.yaml").read_text()
    code, _, err = run(
        str(legacy),
        "--gallery",
        "g",
        "--offline",
        "--write",
        "--identifier",
        "publisher={x},offer=o,sku=s",
    )
    assert code == 1
    assert "spec.yaml:" in err and "RC706" in err and "hint:" in err
    assert "nothing was written" in err
    assert (legacy / "spec.yaml").read_text() == before


def test_a_malformed_template_is_one_sentence(legacy: Path) -> None:
    """A template without offer/sku is a usage error, not a traceback."""
    code, _, err = run(str(legacy), "--gallery", "g", "--offline", "--identifier", "publisher=a")
    assert code == 1
    assert "offer, sku missing" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"osState": "Specialized"}, "RC701"),
        (
            {
                "diskEncryptionSet": f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/diskEncryptionSets/des-vfx"
            },
            "RC702",
        ),
    ],
    ids=["specialized", "customer-key"],
)
def test_live_image_facts_are_read_from_azure(
    legacy: Path, tmp_path: Path, change: dict[str, str], code: str
) -> None:
    """The managed image as the sandbox reports it (not as the spec says) decides R8."""
    from reconciler.sandbox.app import Sandbox
    from reconciler.sandbox.seed import load_seed

    seed = load_seed(None)
    group = seed["subscriptions"][0]["resourceGroups"][0]
    for image in group["managedImages"]:
        if image["name"] == "img-legacy-render":
            image.update(change)
    world = tmp_path / "world.sqlite"
    sandbox = Sandbox(world)
    sandbox.reset()
    sandbox.seed(seed)
    sandbox.close()
    code_, _, err = run(str(legacy), "--gallery", "g", "--sandbox", str(world))
    assert code_ == 1
    assert code in err and "spec.yaml:" in err


def test_blue_green_adds_a_copy_on_the_version_and_keeps_the_pool(legacy: Path) -> None:
    """--blue-green leaves a pool with nodes on its managed image and adds `<pool>-gallery`."""
    code, _, err = run(
        str(legacy), "--gallery", "legacygallery", "--offline", "--blue-green", "--write"
    )
    assert code == 0, err
    assert "legacy-render stays on the managed image" in err
    assert "deleted only when you remove it from the spec" in err
    spec = load_spec([str(legacy)]).spec
    assert spec is not None
    old = spec.pools["pool:batchlegacy/legacy-render"]
    new = spec.pools["pool:batchlegacy/legacy-render-gallery"]
    assert old.image.id.lower() == IMAGE_ID.lower()
    assert new.image.id.endswith("/galleries/legacygallery/images/img-legacy-render/versions/1.0.0")
    same = ("vm_size", "node_agent_sku_id", "scale", "start_task", "metadata", "display_name")
    assert {k: getattr(new, k) for k in same} == {k: getattr(old, k) for k in same}
    text = (legacy / "spec.yaml").read_text()
    assert text.count("fixed: {dedicated: 200, resizeTimeout: PT25M") == 2  # flow style kept
    assert "# Remove legacy-render from the spec once this pool serves" in text


def test_blue_green_moves_a_pool_at_zero_in_place(tmp_path: Path) -> None:
    """A pool Azure reports at zero nodes has nothing to keep serving: it moves in place."""
    spec = legacy_spec()
    now = {canonical_id(POOL_ID): PoolFacts("Steady", 0, 0)}
    migration = plan_migration(spec, options(blue_green=True), pools_now=now)  # type: ignore[arg-type]
    (pool,) = migration.moves[0].pools
    assert pool.blue_green is None and "in place" in pool.how


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (
            (
                "metadata: {team: vfx}",
                "metadata: {team: vfx}\n      - name: legacy-render-gallery\n"
                "        vmSize: Standard_D4s_v5\n        image: {managedImage: img-legacy-render}\n"
                "        nodeAgentSkuId: batch.node.ubuntu 20.04\n        scale: {fixed: {dedicated: 0}}",
            ),
            "is already a pool of batchlegacy",
        ),
        (("name: legacy-render\n", "name: " + "r" * 60 + "\n"), "longer than Batch's 64"),
    ],
    ids=["taken", "too-long"],
)
def test_blue_green_name_problems(tmp_path: Path, edit: tuple[str, str], why: str) -> None:
    """RC709: the copy's name is another pool's, or longer than a pool name may be."""
    spec = legacy_spec(edit, tmp_path)
    migration = plan_migration(spec, options(blue_green=True))  # type: ignore[arg-type]
    rc709 = [d for d in migration.diagnostics if d.code == "RC709"]
    assert len(rc709) == 1 and why in rc709[0].message and rc709[0].hint
