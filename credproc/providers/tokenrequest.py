"""What every login provider's request shares (aws-login, gcp-login, azure-login): the token source
is read once (`bind`), the cache key covers whose token it is, and one refresh has one deadline."""
from credproc import cache


class TokenBoundRequest:
    """Subclasses set ``source`` (a token source), ``material`` (the cache key material, no secret)
    and ``bindings = None`` in their constructor."""

    source = None
    material: dict
    bindings = None

    def bind(self) -> None:
        """Read the token source now and key the cache on whose token it is (cache.Binding)."""
        self.bindings = self.source.bindings()
        self.material["token_binding"] = [binding.material() for binding in self.bindings]

    @property
    def cache_key(self) -> str:
        if self.bindings is None:
            raise RuntimeError(f"{type(self).__name__}.bind() must come before the cache key")
        return cache.make_key(self.material)

    def refresh_deadline(self) -> float:
        """CREDPROC_REFRESH_TIMEOUT, plus the time a person may take when this refresh may log in."""
        from credproc import lock
        from credproc.identity.tokens import login

        seconds = lock.refresh_timeout()
        if self.source.kind == "login" and login.auto_login_requested():
            seconds += login.LOGIN_TIMEOUT_SECONDS
        return seconds
