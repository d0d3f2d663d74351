"""The pinned SHA-256 of every file of the robustness-data release that robnas can install.

These are facts about the published release (Jung, Lukasik, Keuper, ICLR 2023, as mirrored at
http://data.robustness.vision/): ``meta.json``, every ``<dataset>/<key>_accuracy.json`` of
CIFAR-10, CIFAR-100 and ImageNet16-120, and ``cifar10/clean_cm.json``. Paths are relative to the
data root, with ``/`` separators, exactly as the release's ``SHA256SUMS`` names them (without
the leading ``./``). Only checksums live here, never the data.

>>> RELEASE_SHA256["meta.json"][:12]
'54b6d2c2780c'
>>> len(RELEASE_SHA256)
47
>>> pinned_sha256("cifar10/pgd@Linf_accuracy.json")[:8]
'3594a12d'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from robnas.benchmark.cache import sha256_of
from robnas.vocabulary import Dataset, Measure, all_keys

META_PATH = "meta.json"
"""The release's space description, relative to the data root."""

RELEASE_SHA256: Mapping[str, str] = MappingProxyType({
    "ImageNet16-120/aa_apgd-ce@Linf_accuracy.json":
        "2a3204d169b41964e4ea04a6c8f0160cf1a1dc2a3c50f3d49ed0221a0cc2b655",
    "ImageNet16-120/aa_square@Linf_accuracy.json":
        "bd887f52ed2f430cc80a86c3980122ace3dc86719414a55b3396d39b49a4f59c",
    "ImageNet16-120/clean_accuracy.json":
        "76d67f3c76c4e2a1fb3c45a39e3e5c5d204cd83687525137ad5a890e5b6c7846",
    "ImageNet16-120/fgsm@Linf_accuracy.json":
        "b51aa3c4d0e76df97727d2464a9a1f0cd5225e3a7e3dcbf6ee2339fac117199a",
    "ImageNet16-120/pgd@Linf_accuracy.json":
        "4b5b32dc5c0b57ef60508f8f941848f078874aadd4721635abb19277610b6f5e",
    "cifar10/aa_apgd-ce@Linf_accuracy.json":
        "c3e426155167c52a07d307204a83b200f3454a3c63b13f90f3351777babbd059",
    "cifar10/aa_square@Linf_accuracy.json":
        "c96485a7860a8bb5bd201fa8197e6a7fd11712bd5a0e5e882b58e7d75de9c081",
    "cifar10/brightness_accuracy.json":
        "021b82a8176397e68b92b089ab3797681b93e7f4c1d15dcb6cd86ee0415182c0",
    "cifar10/clean_accuracy.json":
        "84e21924fef5704bdb10bc01d1eb597a8bb9542f1860175adbfa22ba3313af9d",
    "cifar10/clean_cm.json":
        "a52693c761b72f1985e12ef729271d3407ae9daf6d78f0a1afe1e7c8077888c3",
    "cifar10/contrast_accuracy.json":
        "3bfa153fc695ada4855576098ddc6fe049745d34752f7d37141153ef0ff7ff19",
    "cifar10/defocus_blur_accuracy.json":
        "e50ed374386f7897f068e2b6209a7beff6e1935b97378183bd1b339e73a4bcf7",
    "cifar10/elastic_transform_accuracy.json":
        "250f26182d7250d08067fcb8d3cf3f3a9fbdce7ea0e44ab3ffa1bfcc4bee4f40",
    "cifar10/fgsm@Linf_accuracy.json":
        "c582fefb39be66cc0997b5f55087f675ff3a653016c0b7abc3a6a0a5fbc76785",
    "cifar10/fog_accuracy.json":
        "9eacdb007b9fa08f101ef7f516704326f02b014d53ba1e0a71ad17883c76a75c",
    "cifar10/frost_accuracy.json":
        "86e43d39dbf6b48c5c9faa785c34dd678cb9cebe55072fa0f053e9301b6ac193",
    "cifar10/gaussian_noise_accuracy.json":
        "d2ceee922d3b3e224efc02d142c7c367f1da1e92d84eeccc509f9a17c9023d8a",
    "cifar10/glass_blur_accuracy.json":
        "f6c136273d2b12ee76c0ed2ef707f28c35775c134d2bf63301c82c8b40a2b94b",
    "cifar10/impulse_noise_accuracy.json":
        "3eeb80a02b4c7a4caf81cceda70cea4903341e253a3ce0cd41c1542c0c57b29a",
    "cifar10/jpeg_compression_accuracy.json":
        "87f08277e793ca0e105bd046cb4b317c9b3a6bb234d2d0668fcb11aa4ac21192",
    "cifar10/motion_blur_accuracy.json":
        "4a75e39223f1f9342411e7595a268bb4e5d94526ef38ec178730c384469dc807",
    "cifar10/pgd@Linf_accuracy.json":
        "3594a12d4b79e15ce502112e6024242616be2447736c46d8e1fb93df7dd4d4a5",
    "cifar10/pixelate_accuracy.json":
        "20f0e29b40e408995c22a55593f6a537fdbe7f6fa081d422a638093d998a37a6",
    "cifar10/shot_noise_accuracy.json":
        "db8d3b926a7af2bef563f4259a755f96324c18fcf334de871d310ea7bfea6364",
    "cifar10/snow_accuracy.json":
        "cc3ac8b1dd1dae897dbc0fb42865eef1fdcd9e5ddda5cda241c35f513750d7e7",
    "cifar10/zoom_blur_accuracy.json":
        "3ddf4a755307fc97c62b5b1938557291e30653b2d2c4a60b5621a1067bc59931",
    "cifar100/aa_apgd-ce@Linf_accuracy.json":
        "7f305fb3f3021ca2706241f6ccc8a75a1e8c0276257958bbe6fe893640d8a1d4",
    "cifar100/aa_square@Linf_accuracy.json":
        "094bec32e393fa2ff8a3905356a79179027d5dc6b508e4fda5ad0aa49983d545",
    "cifar100/brightness_accuracy.json":
        "f3e5137ca380a061be1d32f473ad91c96953911354706f69f485ae3877790d36",
    "cifar100/clean_accuracy.json":
        "b2d5029df6a1f083170d67a3b42022dad41a4bcfbcc4c7670f9aae9e93ae7784",
    "cifar100/contrast_accuracy.json":
        "e50f58b26af747f2e0fa8ac69362a5bb3c0e120c8829cb66792947b6d9769baf",
    "cifar100/defocus_blur_accuracy.json":
        "2fd1b8b9ccfa7c7f896ede1801ca73c70d8d95eb2a6c04c94f18d427bd38c999",
    "cifar100/elastic_transform_accuracy.json":
        "b1377677f1b3ec749158c73c5ed47bd0d6fc1475937cec186ba77434e5edc4a4",
    "cifar100/fgsm@Linf_accuracy.json":
        "e2d66e6c6d7509928a6196340a7612342a6eef674c0e80001b59d7cd5a29473c",
    "cifar100/fog_accuracy.json":
        "e1b501af4bbcf54d441ba5f3cb4a5f7515b6e3619eb6be4c55d675f12d3a5499",
    "cifar100/frost_accuracy.json":
        "251cefb856f0879da9689703536e6355a7a010caa5acb2189b3f334c60fea306",
    "cifar100/gaussian_noise_accuracy.json":
        "e850f5288e46dd71ef3495b92f1728bbd19482eceab2a07b6918ed4b53ef1223",
    "cifar100/glass_blur_accuracy.json":
        "a060e535ffd22129cf54d7aa53223755546f6070623399f3997ebc405b89564d",
    "cifar100/impulse_noise_accuracy.json":
        "4ca0563f2290f027ff77e626c65384886b208777ea996e0b263a2be15be2f72d",
    "cifar100/jpeg_compression_accuracy.json":
        "06393446b75c8fe7bfe87fd85f49ea97f2357553f3042167bc8813bf7c1df901",
    "cifar100/motion_blur_accuracy.json":
        "3a63509d798df49a5ecfa0f99856f96f1e5866ff75c998b9e4bc1ed567cbd8f8",
    "cifar100/pgd@Linf_accuracy.json":
        "1f824bdbf72197abddd79c0afefdb7a815b3b33dd30d4c0ac5bc21651c036848",
    "cifar100/pixelate_accuracy.json":
        "a82a6677eed9e63630a70114caf541e22b66e4b9f62e1ccb9e8488a17f2cf045",
    "cifar100/shot_noise_accuracy.json":
        "4c5ee4c406807c922e1d51f76d041004c00a3c71c9675397caa8df95249290cc",
    "cifar100/snow_accuracy.json":
        "1d92157bcec94684692bb591ac6dc48470464e9b894ecc55ea1e33360f6f6b31",
    "cifar100/zoom_blur_accuracy.json":
        "8618ef9efb2ab4222155275d68b348829182ab3b43af7ad94966ff1e2646d6d5",
    "meta.json":
        "54b6d2c2780cfb63de98e9d67e72db9cb0c02be426191d429dbe02c898d4577e",
})
"""Relative path -> lowercase hex SHA-256 of the released file (read-only)."""


def pinned_sha256(relative: str) -> str | None:
    """The pinned SHA-256 of the release file at ``relative`` (``None`` when not pinned)."""
    return RELEASE_SHA256.get(relative.removeprefix("./"))


def sha256sums_text() -> str:
    """The pins in ``sha256sum -c`` format (``<hash>  ./<path>``), one file a line."""
    return "".join(f"{digest}  ./{path}\n" for path, digest in RELEASE_SHA256.items())


def matches_pin(path: Path, relative: str) -> bool | None:
    """Whether the file at ``path`` has the pinned hash of ``relative`` (``None``: not pinned)."""
    expected = pinned_sha256(relative)
    if expected is None:
        return None
    return sha256_of(path) == expected


def expected_files(
    datasets: Iterable[Dataset | str] | None = None,
    measures: Iterable[Measure | str] | None = None,
) -> frozenset[str]:
    """Release paths robnas accepts for ``datasets`` and ``measures`` (``None``: all of them).

    Every pinned file of those datasets and measures, plus ``meta.json``, plus the files of the
    release vocabulary (``<dataset>/<key>_<measure>.json``) for the measures that no mirror
    pins (``confidence``, and ``cm`` beyond ``cifar10/clean_cm.json``): those are accepted
    without a pin, and reported as unpinned. An accuracy file without a pin (say, a corruption
    result for ImageNet16-120, which the release does not have) is not expected.

    >>> sorted(expected_files(["ImageNet16-120"], ["accuracy"]))[:2]
    ['ImageNet16-120/aa_apgd-ce@Linf_accuracy.json', 'ImageNet16-120/aa_square@Linf_accuracy.json']
    >>> len(expected_files(["cifar10"], ["accuracy"]))  # 20 keys + meta.json
    21
    """
    folders = {Dataset(d).value for d in (Dataset if datasets is None else datasets)}
    kinds = {Measure(m).value for m in (Measure if measures is None else measures)}
    found = {META_PATH}
    for path in RELEASE_SHA256:
        folder, _, name = path.rpartition("/")
        if folder in folders and name.rsplit("_", 1)[-1].removesuffix(".json") in kinds:
            found.add(path)
    for folder in folders:
        for key in all_keys():
            for kind in kinds - {Measure.ACCURACY.value}:
                found.add(f"{folder}/{key}_{kind}.json")
    return frozenset(found)
