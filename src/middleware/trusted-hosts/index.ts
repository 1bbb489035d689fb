export { trustedHosts, type TrustedHost } from './trusted-hosts.js';
