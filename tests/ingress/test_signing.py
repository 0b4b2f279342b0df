"""The development signing secret that `escalate dev`, the ingress and `simulate` share."""

import os
import stat
from pathlib import Path

from ingress.signing import dev_secret, twilio_signing_key
from service.settings import Settings


def test_the_dev_secret_is_made_once_private_and_then_reused(tmp_path: Path):
    path = tmp_path / "data" / "webhook-secret"
    made = dev_secret(path)
    assert len(made) >= 40
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert dev_secret(path) == made


def test_without_a_twilio_token_the_dev_secret_signs(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    assert twilio_signing_key(settings) == dev_secret(settings.dev_secret_path)
    with_token = Settings(data_dir=tmp_path / "other", twilio_auth_token="tok")  # type: ignore[arg-type]
    assert twilio_signing_key(with_token) == "tok"
    assert not with_token.dev_secret_path.exists()
