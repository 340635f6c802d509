/**
 * CIDR helpers under their former name, for other users of the Linux driver's normalised model
 * (the OVN driver). They now cover IPv4 and IPv6; see ip.ts.
 */
export { cidrContains, cidrOverlap, cidrText, parseCidr, type Cidr } from "./ip.ts";
