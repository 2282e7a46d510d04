import CachePolicy
import Testing

@Suite("RFC 9211 Cache-Status")
struct CacheStatusTests {
    @Test("§2 rendering of the usual members", arguments: [
        (CacheStatus.hit(timeToLive: 42.7), "Outpost; hit; ttl=42"),
        (CacheStatus.hit(timeToLive: -3.2, detail: "stale-while-revalidate"), "Outpost; hit; ttl=-4; detail=stale-while-revalidate"),
        (CacheStatus.forwarded(.uriMiss, stored: true), "Outpost; fwd=uri-miss; stored"),
        (CacheStatus.forwarded(.varyMiss, status: 200), "Outpost; fwd=vary-miss; fwd-status=200"),
        (CacheStatus.forwarded(.stale, status: 304, stored: true), "Outpost; fwd=stale; fwd-status=304; stored"),
        (CacheStatus.forwarded(because: .requestNoCache), "Outpost; fwd=request; detail=request-no-cache"),
        (CacheStatus.forwarded(because: .ruleBypass), "Outpost; fwd=bypass; detail=rule-bypass"),
        (CacheStatus.forwarded(.uriMiss, collapsed: true), "Outpost; fwd=uri-miss; collapsed"),
        (CacheStatus.forwarded(.miss, status: 200, detail: .responseNoStore), "Outpost; fwd=miss; fwd-status=200; detail=no-store"),
        (CacheStatus.forwarded(because: .methodNotCacheable), "Outpost; fwd=method; detail=method"),
        (CacheStatus(cacheName: "edge 1", hit: true, key: "GET https://a/\"x\""), #""edge 1"; hit; key="GET https://a/\"x\"""#),
        (CacheStatus(cacheName: "Outpost", hit: true, forward: .miss, stored: true), "Outpost; hit"),
        (CacheStatus(cacheName: "1st", hit: true), #""1st"; hit"#),
        (CacheStatus(cacheName: "*edge:a/b", hit: true, detail: "two words"), #"*edge:a/b; hit; detail="two words""#),
    ])
    func rendering(status: CacheStatus, expected: String) {
        #expect(status.description == expected)
    }

    @Test("§2 a cache appends its member to the upstream list")
    func appending() {
        #expect(CacheStatus.hit(timeToLive: 1).appended(to: "Origin-CDN; fwd=miss") == "Origin-CDN; fwd=miss, Outpost; hit; ttl=1")
        #expect(CacheStatus.hit(timeToLive: 1).appended(to: nil) == "Outpost; hit; ttl=1")
    }

    @Test("§2.2 every reason maps to a registered fwd value and its detail is an sf-token")
    func reasons() {
        let details = NotCachedReason.allCases.map(\.detail)
        #expect(Set(details).count == details.count)
        for reason in NotCachedReason.allCases {
            #expect(CacheStatus.forwarded(because: reason).description.hasSuffix("detail=\(reason.detail)"))
            #expect(reason.detail.allSatisfy { $0.isLowercase || $0 == "-" })
        }
        #expect(NotCachedReason.varyMismatch.forwardReason == .varyMiss)
        #expect(NotCachedReason.partialContent.forwardReason == .partial)
        #expect(NotCachedReason.stale.forwardReason == .stale)
    }

    @Test("§2 the parameters alone (for logs) are the member without the cache name")
    func parametersWithoutName() {
        let status = CacheStatus.forwarded(.stale, status: 304, timeToLive: 60)
        #expect(status.parameters == "; fwd=stale; fwd-status=304; ttl=60")
        #expect(status.description == "Outpost" + status.parameters)
        #expect(CacheStatus.hit(timeToLive: 5).parameters == "; hit; ttl=5")
    }
}
