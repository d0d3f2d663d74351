"""WeightsArchive against archives written in NATS-Bench's exact format; the restricted unpickler."""

from __future__ import annotations

import bz2
import io
import os
import pickle
import sys
import warnings
from collections import OrderedDict
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from robnas.arch import Arch  # noqa: E402
from robnas.errors import DataFormatError, DataNotFoundError, InvalidArchError, RobnasError  # noqa: E402
from robnas.evaluation.network import NORMALISATION, build_network  # noqa: E402
from robnas.evaluation.safe_pickle import UnsafePickleError, load_restricted, torch_tensor_globals  # noqa: E402
from robnas.evaluation.weights import WeightsArchive, load_network  # noqa: E402
from robnas.vocabulary import Dataset  # noqa: E402
from tests.evaluation.nats_fixture import write_nats_archive  # noqa: E402

ARCHS = {
    7: Arch.from_string("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"),
    12345: Arch.from_string("|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|none~1|nor_conv_3x3~2|"),
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("nats") / "NATS-tss-v1_0-3ffb9-full"
    written = write_nats_archive(root, ARCHS, epochs=(12, 200), seeds=(888, 777))
    return WeightsArchive(root), written


def test_files_are_named_by_padded_index(archive) -> None:
    weights, _ = archive
    assert weights.path_of(7).name == "000007.pickle.pbz2"
    assert weights.path_of(7).is_file()
    assert weights.path_of(12345).name == "012345.pickle.pbz2"


@pytest.mark.parametrize(("dataset", "nats"), [("cifar10", "cifar10"), (Dataset.CIFAR100, "cifar100"),
                                               ("ImageNet16-120", "ImageNet16-120")])
@pytest.mark.parametrize("epochs", [12, 200])
def test_round_trip(archive, dataset, nats: str, epochs: int) -> None:
    weights, written = archive
    for index in ARCHS:
        for seed in (777, 888):
            got = weights.state_dict(index, dataset, epochs=epochs, seed=seed)
            expected = written[(index, nats, epochs, seed)]
            assert list(got) == list(expected)
            for key, value in expected.items():
                assert got[key].dtype == value.dtype
                assert torch.equal(got[key], value), key


def test_cifar10_is_not_cifar10_valid(archive) -> None:
    weights, written = archive
    got = weights.state_dict(7, "cifar10", epochs=200, seed=777)
    assert torch.equal(got["classifier.weight"], written[(7, "cifar10", 200, 777)]["classifier.weight"])
    assert not torch.equal(got["classifier.weight"], written[(7, "cifar10-valid", 200, 777)]["classifier.weight"])


def test_seeds_epochs_and_arch(archive) -> None:
    weights, written = archive
    assert weights.seeds(7, "cifar10", 200) == [777, 888]
    assert weights.epochs(7) == [12, 200]
    assert weights.arch_of(12345) == ARCHS[12345]
    config = weights.config(12345, "cifar100", epochs=12)
    assert (config.arch, config.channels, config.cells_per_stage, config.num_classes) == (ARCHS[12345], 4, 1, 100)
    # seed None -> the smallest seed
    default = weights.state_dict(7, "cifar100", epochs=12)
    assert torch.equal(default["stem.0.weight"], written[(7, "cifar100", 12, 777)]["stem.0.weight"])


def test_returned_tensors_are_fresh(archive) -> None:
    weights, written = archive
    first = weights.state_dict(7, "cifar10", seed=888)
    first["classifier.bias"].add_(100.0)
    again = weights.state_dict(7, "cifar10", seed=888)
    assert torch.equal(again["classifier.bias"], written[(7, "cifar10", 200, 888)]["classifier.bias"])


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "ImageNet16-120"])
def test_loaded_network_reproduces_the_written_one(archive, dataset: str) -> None:
    weights, written = archive
    nats = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}[dataset]
    network = load_network(weights, 12345, ARCHS[12345], dataset, epochs=200, seed=888)
    assert not network.training
    reference = build_network(ARCHS[12345], dataset, channels=4, cells_per_stage=1)
    reference.load_state_dict(written[(12345, nats, 200, 888)], strict=True)
    reference.eval()
    size = 16 if dataset == "ImageNet16-120" else 32
    images = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ours, theirs = network(images), reference(images)
    assert torch.equal(ours, theirs)
    # a different seed's weights give different logits: the seed really selects the weights
    other = load_network(weights, 12345, ARCHS[12345], dataset, epochs=200, seed=777)
    with torch.no_grad():
        assert not torch.allclose(other(images), ours)


def test_loaded_weights_fit_xautodl_tiny_network(archive) -> None:
    """The archive's weights are TinyNetwork weights: strict load there too, same logits."""
    pytest.importorskip("xautodl")
    from xautodl.models.cell_infers.tiny_network import TinyNetwork
    from xautodl.models.cell_searchs.genotypes import Structure

    weights, _ = archive
    network = load_network(weights, 7, ARCHS[7], "cifar10")
    tiny = TinyNetwork(4, 1, Structure.str2structure(ARCHS[7].to_string()), 10)
    tiny.load_state_dict(weights.state_dict(7, "cifar10"), strict=True)
    tiny.eval()
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALISATION[Dataset.CIFAR10])
    images = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        _, tiny_logits = tiny((images - mean) / std)
        assert torch.allclose(network(images), tiny_logits, atol=1e-6)


def test_missing_index_names_the_path(archive, tmp_path: Path) -> None:
    weights, _ = archive
    with pytest.raises(DataNotFoundError, match=r"000008\.pickle\.pbz2.*NATS-tss-v1_0-3ffb9-full"):
        weights.state_dict(8, "cifar10")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        WeightsArchive(tmp_path / "nowhere").state_dict(0, "cifar10")
    with pytest.raises(InvalidArchError):
        weights.path_of(15625)


def test_the_folder_above_the_archive_points_at_it(tmp_path: Path) -> None:
    # NATS-Bench unpacks to $TORCH_HOME/NATS-tss-v1_0-3ffb9-full: given $TORCH_HOME, the error
    # said to download the archive that was already there
    arch = Arch.from_code(5)
    write_nats_archive(tmp_path / "NATS-tss-v1_0-3ffb9-full", {5: arch}, datasets=("cifar10",),
                       epochs=(200,), seeds=(777,))
    with pytest.raises(DataNotFoundError) as missing:
        WeightsArchive(tmp_path).state_dict(5, "cifar10")
    assert str(missing.value).endswith(f"; pass its folder {tmp_path / 'NATS-tss-v1_0-3ffb9-full'}, "
                                       f"not the folder that holds it")
    assert WeightsArchive(tmp_path / "NATS-tss-v1_0-3ffb9-full").config(5, "cifar10").arch == arch


def test_missing_dataset_epochs_seed_list_what_exists(tmp_path: Path) -> None:
    write_nats_archive(tmp_path, {3: ARCHS[7]}, datasets=("cifar10-valid", "cifar10"), epochs=(200,), seeds=(999,))
    weights = WeightsArchive(tmp_path)
    with pytest.raises(RobnasError, match=r"no 200-epoch weights for cifar100; available: cifar10, cifar10-valid"):
        weights.state_dict(3, "cifar100")
    with pytest.raises(RobnasError, match=r"no 12-epoch results; available epochs: 200"):
        weights.state_dict(3, "cifar10", epochs=12)
    with pytest.raises(RobnasError, match=r"seed 777; available seeds: 999"):
        weights.state_dict(3, "cifar10", seed=777)
    with pytest.raises(RobnasError, match="unknown dataset"):
        weights.seeds(3, "mnist")


def test_load_network_leaves_the_global_random_stream_alone(archive) -> None:
    weights, _ = archive
    torch.manual_seed(11)
    expected = torch.rand(4)
    torch.manual_seed(11)
    load_network(weights, 7, ARCHS[7], "cifar10")
    assert torch.equal(torch.rand(4), expected)


def test_load_network_refuses_the_wrong_cell(archive) -> None:
    weights, _ = archive
    with pytest.raises(RobnasError, match=r"holds .* not "):
        load_network(weights, 7, ARCHS[12345], "cifar10")


def test_unpadded_file_names_are_accepted(tmp_path: Path) -> None:
    write_nats_archive(tmp_path, {5: ARCHS[7]}, datasets=("cifar10",), epochs=(200,), seeds=(777,))
    (tmp_path / "000005.pickle.pbz2").rename(tmp_path / "5.pickle.pbz2")
    weights = WeightsArchive(tmp_path)
    assert weights.path_of(5).name == "5.pickle.pbz2"
    assert weights.seeds(5, "cifar10") == [777]


class _Exploit:
    """Runs a shell command when unpickled by a plain unpickler."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_archive_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = {"200": {"arch_index": 1, "all_results": {("cifar10", 777): {"net_state_dict": _Exploit(marker)}}}}
    with bz2.BZ2File(tmp_path / "000001.pickle.pbz2", "wb") as handle:
        pickle.dump(payload, handle, protocol=4)
    with pytest.raises(UnsafePickleError, match=r"refused to load the global (posix|os|nt)\.system"):
        WeightsArchive(tmp_path).state_dict(1, "cifar10")
    assert not marker.exists()


def test_malicious_tensor_storage_is_refused(tmp_path: Path) -> None:
    """A storage's bytes are a torch.save stream: it is read with torch's weights-only unpickler."""
    marker = tmp_path / "pwned"
    inner = io.BytesIO()
    for part in (torch.serialization.MAGIC_NUMBER, torch.serialization.PROTOCOL_VERSION,
                 {"protocol_version": 1001, "little_endian": sys.byteorder == "little",
                  "type_sizes": {"short": 2, "int": 4, "long": 8}}):
        pickle.dump(part, inner, protocol=2)
    pickle.dump(_Exploit(marker), inner, protocol=2)

    class _EvilStorage:
        def __reduce__(self):
            return (torch.storage._load_from_bytes, (inner.getvalue(),))

    class _EvilTensor:
        def __reduce__(self):
            return (torch._utils._rebuild_tensor_v2, (_EvilStorage(), 0, (1,), (1,), False, OrderedDict()))

    stream = io.BytesIO(pickle.dumps({"w": _EvilTensor()}, protocol=4))
    loaded = load_restricted(stream, torch_tensor_globals(), source="evil")  # only bytes kept so far
    with pytest.raises(UnsafePickleError, match="refused by torch"):
        loaded["w"].materialize()
    assert not marker.exists()


def test_tensors_outside_their_storage_are_refused() -> None:
    class _Overreaching:
        def __reduce__(self):
            storage = torch.arange(4.0).storage()
            return (torch._utils._rebuild_tensor_v2, (storage, 2, (10,), (1,), False, OrderedDict()))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TypedStorage deprecation when pickling
        stream = io.BytesIO(pickle.dumps({"w": _Overreaching()}, protocol=4))
    loaded = load_restricted(stream, torch_tensor_globals(), source="x")
    with pytest.raises(DataFormatError, match="past its storage"):
        loaded["w"].materialize()


@pytest.mark.parametrize("global_name", ["builtins.eval", "nats_bench.api_utils.ResultsCount", "torch.load"])
def test_only_the_format_globals_are_allowed(global_name: str) -> None:
    module, name = global_name.rsplit(".", 1)
    stream = io.BytesIO(f"c{module}\n{name}\n.".encode())  # protocol 0 GLOBAL opcode
    with pytest.raises(UnsafePickleError, match=rf"global {module}\.{name}"):
        load_restricted(stream, torch_tensor_globals(), source="x")


def test_corrupt_files_are_format_errors(tmp_path: Path) -> None:
    (tmp_path / "000002.pickle.pbz2").write_bytes(b"not bz2 at all")
    with pytest.raises(DataFormatError):
        WeightsArchive(tmp_path).state_dict(2, "cifar10")
    with bz2.BZ2File(tmp_path / "000004.pickle.pbz2", "wb") as handle:
        handle.write(pickle.dumps({"200": {"arch_index": 4}})[:-5])
    with pytest.raises(DataFormatError):
        WeightsArchive(tmp_path).state_dict(4, "cifar10")


def test_a_file_holding_another_index_is_refused(tmp_path: Path) -> None:
    write_nats_archive(tmp_path, {7: ARCHS[7]}, datasets=("cifar10",), epochs=(200,), seeds=(777,))
    (tmp_path / "000007.pickle.pbz2").rename(tmp_path / "000008.pickle.pbz2")
    with pytest.raises(DataFormatError, match="holds index 7"):
        WeightsArchive(tmp_path).seeds(8, "cifar10")
