import ipaddr from 'ipaddr.js';

// Where a webhook may be sent (SSRF guard): only to public unicast addresses, unless the address
// is in the configured allow-list (WEBHOOK_ALLOWED_ADDRESSES). Private, loopback, link-local
// (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, reserved and unspecified
// ranges would let an administrator's URL reach into the network Casedesk runs in. Pure.

function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(address)) return null;
  const parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 is 10.0.0.1
  return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
    ? (parsed as ipaddr.IPv6).toIPv4Address()
    : parsed;
}

function inRange(address: ipaddr.IPv4 | ipaddr.IPv6, entry: string): boolean {
  try {
    const [range, bits] = entry.includes('/') ? ipaddr.parseCIDR(entry) : [ipaddr.parse(entry), -1];
    if (range.kind() !== address.kind()) return false;
    const width = bits === -1 ? (range.kind() === 'ipv4' ? 32 : 128) : bits;
    return address.match(range, width);
  } catch {
    return false;
  }
}

export function isAllowedTarget(address: string, allowList: readonly string[]): boolean {
  const parsed = parse(address);
  if (!parsed) return false;
  if (allowList.some((entry) => inRange(parsed, entry))) return true;
  return parsed.range() === 'unicast';
}
