"""DNS TXT look-ups for domain verification, with dnspython, against the resolvers the operator
configured (`SSO_DNS_RESOLVERS`, e.g. `["1.1.1.1", "127.0.0.1:5353"]`) or the system's."""

from __future__ import annotations

from django.conf import settings

LIFETIME_S = 5.0


class DnsLookupError(Exception):
    """The look-up gave no usable answer; the message says what happened, for the admin."""


def _resolver():
    import dns.nameserver
    import dns.resolver

    configured = list(getattr(settings, "SSO_DNS_RESOLVERS", None) or [])
    if not configured:
        return dns.resolver.Resolver(configure=True)
    resolver = dns.resolver.Resolver(configure=False)
    nameservers = []
    for entry in configured:
        host, port = str(entry).strip(), 53
        if host.startswith("["):  # [2001:db8::1]:5353
            host, _, rest = host[1:].partition("]")
            port = int(rest.lstrip(":") or 53)
        elif host.count(":") == 1:  # 127.0.0.1:5353 (a bare IPv6 address has several colons)
            host, _, number = host.partition(":")
            port = int(number)
        nameservers.append(dns.nameserver.Do53Nameserver(host, port))
    resolver.nameservers = nameservers
    return resolver


def txt_records(domain: str) -> list[str]:
    """The domain's TXT records, each as one string (its character-strings joined, RFC 7208 §3.3)."""
    import dns.exception
    import dns.resolver

    try:
        answer = _resolver().resolve(domain, "TXT", lifetime=LIFETIME_S, search=False)
    except dns.resolver.NXDOMAIN:
        raise DnsLookupError(f"{domain} doesn't exist in DNS.") from None
    except dns.resolver.NoAnswer:
        raise DnsLookupError(f"{domain} has no TXT records yet. DNS changes can take up to an hour to show.") from None
    except dns.resolver.NoNameservers:
        raise DnsLookupError(f"No DNS server could answer for {domain} (SERVFAIL); try again later.") from None
    except dns.exception.Timeout:
        raise DnsLookupError("The DNS servers didn't answer in time; try again in a few minutes.") from None
    except dns.exception.DNSException as exc:
        raise DnsLookupError(f"The DNS look-up of {domain} failed ({exc}).") from None
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer]
