//! Who is on the other end: the client address (the peer, unless a trusted proxy says
//! otherwise) and the user agent.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::domain::audit::ClientInfo;

/// The client address of a request: the peer address, or, when the peer is a trusted
/// proxy, the nearest untrusted address in `X-Forwarded-For`.
pub fn client_address(req: &HttpRequest, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded = req.headers().get_all("x-forwarded-for").filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
    let mut hops: Vec<IpAddr> = forwarded.split(',').filter_map(|h| h.trim().parse().ok()).collect();
    while let Some(hop) = hops.pop() {
        if !trusted.contains(&hop) {
            return Some(hop);
        }
    }
    Some(peer)
}

/// Address and user agent, as recorded in the audit log and sessions.
pub fn client_info(req: &HttpRequest, trusted: &[IpAddr]) -> ClientInfo {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().filter(|c| !c.is_control()).take(300).collect());
    ClientInfo { address: client_address(req, trusted).map(|ip| ip.to_string()), user_agent }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.9"))
            .to_http_request();
        assert_eq!(client_address(&req, &[proxy]), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(client_address(&req, &[]), Some(proxy), "untrusted peers cannot claim another address");
    }
}
