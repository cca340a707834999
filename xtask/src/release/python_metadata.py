"""One apig-sdk artifact's files and metadata as PyPI and pip see them (`cargo xtask release`).

usage: python_metadata.py ARTIFACT VERSION [PLATFORM_TAG,...]

ARTIFACT is a wheel (then the comma-separated platform tags its WHEEL file must list) or the sdist.
Prints one line on success; exits 1 listing every problem otherwise.
"""

import email.parser
import sys
import tarfile
import zipfile
from urllib.parse import urlsplit

from packaging.version import Version
from trove_classifiers import classifiers as KNOWN_CLASSIFIERS

PLACEHOLDER_HOSTS = ("example.com", "example.org", "example.net", "localhost")
PLACEHOLDER_SUFFIXES = (".invalid", ".example", ".test", ".localhost", ".example.com", ".example.org", ".example.net")
WANTED_CLASSIFIERS = [
    "Development Status :: ",
    "Operating System :: POSIX :: Linux",
    *(f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)),
    "Programming Language :: Python :: Implementation :: CPython",
    "Typing :: Typed",
    "Topic :: ",
]


def read_wheel(path, version, platforms, problems):
    info = f"apig_sdk-{version}.dist-info"
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        required = [
            "apig/__init__.py",
            "apig/_apig.abi3.so",
            "apig/_apig.pyi",
            "apig/py.typed",
            "apig/requests.py",
            f"{info}/licenses/LICENSE-MIT",
            f"{info}/licenses/LICENSE-APACHE",
        ]
        problems += [f"the wheel has no {name}" for name in required if name not in names]
        if f"{info}/WHEEL" not in names or f"{info}/METADATA" not in names:
            problems.append(f"the wheel has no {info}/WHEEL or METADATA (is the version {version}?)")
            return ""
        wheel_file = email.parser.Parser().parsestr(wheel.read(f"{info}/WHEEL").decode())
        tags = set(wheel_file.get_all("Tag") or [])
        wanted = {f"cp310-abi3-{platform}" for platform in platforms}
        if tags != wanted:
            problems.append(f"WHEEL lists the tags {sorted(tags)}, expected {sorted(wanted)}")
        if wheel_file.get("Root-Is-Purelib") != "false":
            problems.append("WHEEL says Root-Is-Purelib is not false (it holds a native library)")
        return wheel.read(f"{info}/METADATA").decode()


def read_sdist(path, version, problems):
    top = f"apig_sdk-{version}"
    with tarfile.open(path) as sdist:
        names = set(sdist.getnames())
        required = [
            "PKG-INFO",
            "pyproject.toml",
            "Cargo.toml",
            "Cargo.lock",
            "LICENSE-MIT",
            "LICENSE-APACHE",
            "python/apig/__init__.py",
            "python/apig/py.typed",
            "bindings/python/Cargo.toml",
            "bindings/python/src/lib.rs",
            "core/src/lib.rs",
        ]
        if f"{top}/PKG-INFO" not in names:
            problems.append(f"the sdist has no {top}/PKG-INFO (is the version {version}?)")
            return ""
        problems += [f"the sdist has no {top}/{name}" for name in required if f"{top}/{name}" not in names]
        member = sdist.extractfile(f"{top}/PKG-INFO")
        return member.read().decode() if member else ""


def check_metadata(text, version, problems):
    meta = email.parser.Parser().parsestr(text)
    for field, wanted in [
        ("Name", "apig-sdk"),
        ("Version", version),
        ("License-Expression", "MIT OR Apache-2.0"),
        ("Requires-Python", ">=3.10"),
    ]:
        if meta.get(field) != wanted:
            problems.append(f"{field} is {meta.get(field)!r}, expected {wanted!r}")
    license_files = sorted(meta.get_all("License-File") or [])
    if license_files != ["LICENSE-APACHE", "LICENSE-MIT"]:
        problems.append(f"License-File lists {license_files}, expected LICENSE-MIT and LICENSE-APACHE")

    classifiers = meta.get_all("Classifier") or []
    for classifier in classifiers:
        if classifier not in KNOWN_CLASSIFIERS:
            problems.append(f"PyPI does not know the classifier {classifier!r}")
        if classifier.startswith("License ::"):
            problems.append(f"{classifier!r}: PyPI refuses License classifiers next to License-Expression")
    for prefix in WANTED_CLASSIFIERS:
        if not any(c.startswith(prefix) for c in classifiers):
            problems.append(f"no classifier {prefix!r}")

    urls = [u.split(",", 1)[-1].strip() for u in meta.get_all("Project-URL") or []]
    urls += [meta[f] for f in ("Home-page", "Download-URL") if meta.get(f)]
    for url in urls:
        host = (urlsplit(url).hostname or "").lower()
        if not host or host in PLACEHOLDER_HOSTS or host.endswith(PLACEHOLDER_SUFFIXES):
            problems.append(f"the project URL {url!r} is a placeholder: give a real one or none")

    if not (meta.get("Description-Content-Type") or "").startswith("text/markdown"):
        problems.append("the long description is not declared as Markdown")
    description = meta.get_payload()
    for needed in ("pip install apig-sdk", 'pip install "apig-sdk[requests]"', "import apig"):
        if needed not in description:
            problems.append(f"the long description (README.md) does not say {needed}")
    return len(classifiers), len(urls)


def main():
    # the version as Python spells it (Cargo's 1.0.0-alpha.1 is 1.0.0a1)
    path, version = sys.argv[1], str(Version(sys.argv[2]))
    problems = []
    if path.endswith(".whl"):
        text = read_wheel(path, version, sys.argv[3].split(","), problems)
    else:
        text = read_sdist(path, version, problems)
    classifiers, urls = check_metadata(text, version, problems) if text else (0, 0)
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"metadata ok: apig-sdk {version}, MIT OR Apache-2.0 with both texts, {classifiers} classifiers, {urls} URLs")


main()
