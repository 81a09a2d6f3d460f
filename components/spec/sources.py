"""Where an app's code comes from and where its static files live: paths confined to the app."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.spec.common import Model
from components.spec.paths import check_relative_folder, check_url_path

GIT_URL = re.compile(r"https://[A-Za-z0-9._~:/@%+-]+")


class AppSource(Model):
    """Where the app's code comes from. Exactly one of path, requirement, git."""

    path: str | None = Field(
        None,
        description="Local folder (relative to the project) packaged and uploaded to the artifact "
        "bucket. The default when no source is given is `examples/<app name>`.",
    )
    requirement: str | None = Field(
        None,
        description="A pip requirement, e.g. `mysite==1.4.2`, installed from the package index.",
    )
    git: str | None = Field(
        None, description="An https git URL installed with pip (`git+URL@ref`)."
    )
    ref: str | None = Field(
        None, description="Git ref (tag or commit) to install; required with git."
    )

    @field_validator("path")
    @classmethod
    def _path(cls, v: str | None) -> str | None:
        return None if v is None else check_relative_folder(v, "the project folder")

    @model_validator(mode="after")
    def _exactly_one(self) -> AppSource:
        chosen = [k for k in ("path", "requirement", "git") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError(
                f"give exactly one of path, requirement, git (got {', '.join(chosen) or 'none'})"
            )
        if self.git:
            if not GIT_URL.fullmatch(self.git):
                raise ValueError(
                    "git must be an https:// URL of letters, digits and ._~:/@%+- (no spaces, "
                    "quotes or shell characters)"
                )
            if not self.ref or not re.fullmatch(r"[A-Za-z0-9._/-]{1,100}", self.ref):
                raise ValueError("git needs a ref (tag, branch or commit) of [A-Za-z0-9._/-]")
        if self.ref and not self.git:
            raise ValueError("ref is only allowed with git")
        if self.requirement and not re.fullmatch(
            r"[A-Za-z0-9._\-\[\],<>=!~ ]{1,200}", self.requirement
        ):
            raise ValueError("requirement must be a plain pip requirement such as `mysite==1.2`")
        return self

    @property
    def kind(self) -> Literal["path", "requirement", "git"]:
        if self.path:
            return "path"
        return "requirement" if self.requirement else "git"


class StaticFiles(Model):
    """Static files served by the proxy, never by the app."""

    url: str = Field(
        "/static/", description="URL prefix, e.g. /static/ (normalised, not `/` itself)."
    )
    folder: str = Field(
        "static",
        description="Folder inside the app (Flask), relative, e.g. `static` or `web/static`; "
        "never `..` or absolute. Django collects into its STATIC_ROOT instead.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        check_url_path(v, trailing_slash=True)
        if v == "/":
            raise ValueError("'/' would serve every URL from the folder; use e.g. /static/")
        return v

    @field_validator("folder")
    @classmethod
    def _folder(cls, v: str) -> str:
        return check_relative_folder(v, "the app's folder")
