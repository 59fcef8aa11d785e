"""Platform KPIs, consumer feedback and Prometheus metrics in the ``Mesh`` facade.

An area of the ``Mesh`` facade. Who sees what: platform admins and governance stewards see
the KPIs and metrics of the whole platform, domain owners the KPIs of their domains; anyone who may
read a product may rate it; its author, the owners of its domain and stewards may delete a feedback.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from quanta.errors import PermissionDenied, QuantaError

if TYPE_CHECKING:
    from quanta.build.events import BuildObserver
    from quanta.governance.model import Principal
    from quanta.mesh.core import MeshCore
    from quanta.observability.kpis import Kpis
    from quanta.observability.prometheus import PlatformMetrics
    from quanta.registry.stores.feedback import FeedbackRecord, ProductFeedback

"""Roles that see the KPIs and metrics of every domain (the role matrix has no KPI permission)."""
MAX_COMMENT = 2000


class FeedbackError(QuantaError):
    """A rating or comment that cannot be accepted (out of range, empty, too long)."""

    status = 422


class KpiError(QuantaError):
    """A KPI request that cannot be answered as asked (a period out of range)."""

    status = 422


class KpisArea:
    """Platform KPIs, consumer feedback, Prometheus metrics."""

    def __init__(self, core: MeshCore) -> None:
        self.core = core

    def metrics_observer(self) -> BuildObserver | None:
        """The build observer that tallies each build's checks for the metrics and KPIs."""
        from quanta.observability.prometheus import BuildMetricsObserver

        return BuildMetricsObserver(self.core.registry)

    # --- KPIs and metrics -------------------------------------------------------------------------

    def kpi_domains(self) -> list[str] | None:
        """The domains whose KPIs the acting principal sees (None: the whole platform)."""
        from quanta.governance.model import PLATFORM_ROLES

        actor = self.core.principal()
        if actor.space is None and actor.roles & PLATFORM_ROLES:
            return None
        if actor.space is None and "domain_owner" in actor.roles and actor.domains:
            return sorted(actor.domains)
        raise PermissionDenied(
            f"{actor.id} may not see the platform KPIs",
            hint="platform admins and governance stewards see every domain's KPIs, domain owners "
            "their own domains' (governance.yaml)",
        )

    def kpis(self, days: int = 30) -> Kpis:
        """The platform KPIs over the last ``days`` (for a domain owner: their domains only)."""
        from quanta.observability.kpis import compute

        if not 1 <= days <= 3650:
            raise KpiError(f"a period of {days} days is out of range (at since)", hint="use 1 to 3650 days")
        domains = self.kpi_domains()
        return compute(self.core.registry, days=days, domains=domains, members=self._members())

    def _members(self) -> dict[str, frozenset[str]]:
        """Principals of governance.yaml who produce or own in domains (their use of those domains'
        products is not consumption), with those domains."""
        found = {}
        for spec in self.core.governance.spec.principals:
            principal = self.core.principal(spec.id)
            if principal.roles & {"domain_owner", "producer"} and principal.domains:
                found[principal.id] = principal.domains
        return found

    def platform_metrics(self, accept: str | None = None) -> tuple[bytes, str]:
        """The Prometheus exposition (body, content type) for platform admins and stewards: the
        metrics name every product, so they are platform-wide or nothing."""
        from quanta.governance.model import PLATFORM_ROLES

        actor = self.core.principal()
        if actor.space is not None or not actor.roles & PLATFORM_ROLES:
            raise PermissionDenied(
                f"{actor.id} may not read the platform metrics",
                hint="scrape with a token of a principal with role platform_admin or governance_steward",
            )
        return self._platform_metrics.render(accept)

    @cached_property
    def _platform_metrics(self) -> PlatformMetrics:
        from quanta.observability.prometheus import PlatformMetrics

        return PlatformMetrics(self.core.registry)

    # --- feedback -------------------------------------------------------------------------------

    def product_feedback(self, product_id: str) -> ProductFeedback:
        """Ratings and comments of a product, newest first, and what the acting principal may do."""
        from quanta.registry.stores.feedback import ProductFeedback, RatingSummary

        actor, facts = (
            self.core.principal(),
            self.core.product_facts(product_id),
        )  # unknown product: NotFoundError
        access = self.core.access(actor, product_id)
        if actor.space is not None and not access.allowed:  # partners see only what was shared
            raise PermissionDenied(f"{product_id} is not shared with {actor.id}", hint="ask your contact")
        entries = self.core.registry.feedback(product_id)
        [summary] = self.core.registry.rating_summaries([product_id]) or [
            RatingSummary(product_id, 0, None, {n: 0 for n in range(1, 6)}, 0)
        ]
        return ProductFeedback(
            product_id,
            summary,
            entries,
            next((e for e in entries if e.principal == actor.id), None),
            access.allowed,
            None if access.allowed else f"only those who may read {product_id} rate it: {access.reason}",
            self._may_moderate(actor, facts.domain),
        )

    def rate(self, product_id: str, rating: int | None = None, comment: str | None = None) -> FeedbackRecord:
        """Rate a product 1-5 and/or comment on it; a second call updates the principal's feedback."""
        actor = self.core.principal()
        checked = _checked_comment(comment)
        if rating is None and checked is None:
            raise FeedbackError("give a rating, a comment or both", hint="--rate 1..5 and/or --comment TEXT")
        if rating is not None and not 1 <= rating <= 5:
            raise FeedbackError(
                f"rating {rating} is out of range (at rating)", hint="rate from 1 (poor) to 5 (excellent)"
            )
        facts = self.core.product_facts(product_id)
        access = self.core.access(actor, product_id)
        if not access.allowed:
            raise PermissionDenied(
                f"{actor.id} may not rate {product_id}: {access.reason}",
                hint=f"only those who may read a product rate it; ask for access: quanta access request "
                f"{product_id} --purpose '...'",
            )
        record, created = self.core.registry.put_feedback(product_id, actor.id, rating, checked)
        details = {"feedback": record.id, "rating": rating, "comment": checked is not None, "new": created}
        self.core.registry.audit(
            "feedback", actor.id, product_id, "allow", domain=facts.domain, details=details
        )
        return record

    def delete_feedback(self, product_id: str, feedback_id: int) -> FeedbackRecord:
        """Delete a feedback: its author, or a moderator (the product's domain owners, stewards)."""
        actor, facts = self.core.principal(), self.core.product_facts(product_id)
        record = self.core.registry.feedback_by_id(product_id, feedback_id)
        if record.principal != actor.id and not self._may_moderate(actor, facts.domain):
            raise PermissionDenied(
                f"{actor.id} may not delete feedback {feedback_id} by {record.principal}",
                hint=f"its author, the owners of domain {facts.domain} and governance stewards can",
            )
        self.core.registry.delete_feedback(feedback_id)
        details = {"feedback": feedback_id, "author": record.principal, "rating": record.rating}
        self.core.registry.audit(
            "feedback.delete", actor.id, product_id, "allow", domain=facts.domain, details=details
        )
        return record

    def _may_moderate(self, actor: Principal, domain: str) -> bool:
        return actor.space is None and (
            actor.can("approve_access", domain) or "governance_steward" in actor.roles
        )


def _checked_comment(comment: str | None) -> str | None:
    if comment is None:
        return None
    text = comment.strip()
    if not text:
        raise FeedbackError("the comment is empty (at comment)", hint="write what you found, or leave it out")
    if len(text) > MAX_COMMENT:
        raise FeedbackError(
            f"the comment has {len(text):,} characters, more than {MAX_COMMENT:,} (at comment)",
            hint="shorten it; link to a longer write-up",
        )
    return text
