"""Token and login settings, read from the environment beside the core settings.

JWT_ALGORITHM       HS256 (default) or RS256
JWT_KEYS            HS256 key ring `kid:secret,kid:secret` — the first signs, all verify;
                    without it one key is derived from SECRET_KEY
JWT_PRIVATE_KEY_FILE  RS256 signing key (PEM); without it one is generated in DATA_DIR
JWT_PUBLIC_KEY_FILES  RS256 keys of earlier rotations that still verify (comma-separated)
JWT_ISSUER          default: PUBLIC_BASE_URL + /api/v1
JWT_AUDIENCE        default: moneyrail
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic_settings import BaseSettings, SettingsConfigDict

from moneyrail.core import limits, security
from moneyrail.core.settings import Environment, Settings

JWT_TYPE = "at+jwt"
RSA_KEY_BITS = 2048


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_keys: str | None = None
    jwt_private_key_file: Path | None = None
    jwt_public_key_files: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str = "moneyrail"


@dataclass(frozen=True)
class AuthConfig:
    issuer: str
    audience: str
    algorithm: str
    signing_kid: str
    signing_key: Any  # bytes (HS256) or an RSA private key
    verification_keys: dict[str, Any]  # kid → bytes or RSA public key
    access_ttl: timedelta
    refresh_ttl: timedelta
    otp_ttl: timedelta
    # Key for HMAC digests of low-entropy secrets (one-time codes).
    pepper: bytes = field(repr=False, default=b"")
    public_jwks: list[dict[str, Any]] = field(default_factory=list)


def _derive(secret: str, label: str) -> bytes:
    return hmac.new(secret.encode(), label.encode(), hashlib.sha256).digest()


def _hs_ring(settings: Settings, auth: AuthSettings) -> tuple[str, dict[str, Any]]:
    if auth.jwt_keys:
        ring: dict[str, Any] = {}
        order: list[str] = []
        for item in filter(None, (part.strip() for part in auth.jwt_keys.split(","))):
            kid, _, secret = item.partition(":")
            if not kid or len(secret) < limits.jwt_hs_secret_length_min:
                raise ValueError(
                    f"JWT_KEYS entry {kid!r} must be kid:secret with a secret of at least "
                    f"{limits.jwt_hs_secret_length_min} characters"
                )
            ring[kid] = secret.encode()
            order.append(kid)
        return order[0], ring
    key = _derive(settings.secret_key, "moneyrail-jwt-hs256")
    kid = "hs-" + hashlib.sha256(key).hexdigest()[:12]
    return kid, {kid: key}


def _rsa_kid(public_key: rsa.RSAPublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "rs-" + hashlib.sha256(der).hexdigest()[:16]


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _jwk(kid: str, public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    numbers = public_key.public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": _b64(numbers.n),
        "e": _b64(numbers.e),
    }


def _load_private(settings: Settings, auth: AuthSettings) -> rsa.RSAPrivateKey:
    path = auth.jwt_private_key_file or Path(settings.data_dir) / "jwt-rs256.pem"
    if not path.exists():
        if auth.jwt_private_key_file is not None or settings.is_production:
            raise ValueError(f"JWT_PRIVATE_KEY_FILE {path} does not exist")
        generated = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = generated.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
        path.chmod(0o600)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("JWT_PRIVATE_KEY_FILE must hold an RSA private key")
    return key


def build_auth_config(settings: Settings, auth: AuthSettings | None = None) -> AuthConfig:
    auth = auth or AuthSettings()
    security.use_test_parameters(settings.environment is Environment.test)
    issuer = auth.jwt_issuer or settings.public_base_url.rstrip("/") + "/api/v1"
    jwks: list[dict[str, Any]] = []
    if auth.jwt_algorithm == "RS256":
        private = _load_private(settings, auth)
        kid = _rsa_kid(private.public_key())
        verification: dict[str, Any] = {kid: private.public_key()}
        for name in filter(None, (p.strip() for p in (auth.jwt_public_key_files or "").split(","))):
            public = serialization.load_pem_public_key(Path(name).read_bytes())
            if isinstance(public, rsa.RSAPublicKey):
                verification[_rsa_kid(public)] = public
        jwks = [_jwk(k, v) for k, v in verification.items()]
        signing: Any = private
    else:
        kid, verification = _hs_ring(settings, auth)
        signing = verification[kid]
    return AuthConfig(
        issuer=issuer,
        audience=auth.jwt_audience,
        algorithm=auth.jwt_algorithm,
        signing_kid=kid,
        signing_key=signing,
        verification_keys=verification,
        access_ttl=timedelta(minutes=settings.access_token_expire_minutes),
        refresh_ttl=timedelta(days=settings.refresh_token_expire_days),
        otp_ttl=timedelta(minutes=limits.otp_ttl_minutes),
        pepper=_derive(settings.secret_key, "moneyrail-otp"),
        public_jwks=jwks,
    )


_configs: dict[int, tuple[Settings, AuthConfig]] = {}


def auth_config(settings: Settings) -> AuthConfig:
    """The auth configuration of one settings object (built once, then reused)."""
    cached = _configs.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    config = build_auth_config(settings)
    _configs[id(settings)] = (settings, config)
    return config
