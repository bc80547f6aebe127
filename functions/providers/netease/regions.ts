/**
 * Yunxin API gateways per region. ARCHITECTURE.md: requests go to `${NETEASE_API_BASE_URL}/im/v2/…`,
 * by default the region's `…/nimserver` prefix, which is what the official server SDK calls
 * (netease-yunxin-notes §1.2; the docs' `open.yunxinapi.com` is the other documented gateway).
 */
export const NETEASE_REGIONS = {
  cn: "https://api-cn.yunxinapi.com/nimserver",
  sg: "https://api-sg.yunxinapi.com/nimserver",
} as const;

export type NeteaseRegion = keyof typeof NETEASE_REGIONS;
