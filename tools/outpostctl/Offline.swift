// The offline side of ls / inspect / stats: a cache directory's index read-only, which works while
// the node runs and without its admin API. An index that cannot be opened exits 3.
import CacheStore
import Foundation

struct CacheDirectory {
    var path: String

    func reader() throws -> IndexReader {
        do {
            return try IndexReader(directory: path)
        } catch {
            throw failure("cannot read the index in \(path): \(error.localizedDescription)", code: 3)
        }
    }
}

/// `outpostctl stats --cache-dir`: objects and bytes by host, content type and age.
func printIndexStatistics(_ statistics: IndexStatistics) {
    print("objects \(statistics.objects), bytes \(statistics.bytes)")
    for (title, groups) in [("by host", statistics.byHost), ("by content type", statistics.byContentType), ("by age", statistics.ageHistogram)] {
        print(title)
        for group in groups { print("  \(group.name.column(32)) \(group.objects) objects, \(group.bytes) bytes") }
    }
}
