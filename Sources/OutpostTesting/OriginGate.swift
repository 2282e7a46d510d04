// OriginGate: a latch a test opens to let a scripted origin go on with an answer it is holding.
// Used where a test must act while a response is known to be in flight (its head sent, its body
// not), without guessing how long the action takes on a loaded machine.
//
// Invariants: opening is idempotent; every waiter registered before or after opening runs exactly
// once, on the event loop it registered from.
import NIOConcurrencyHelpers
import NIOCore

public final class OriginGate: Sendable {
    private let state = NIOLockedValueBox<(isOpen: Bool, waiters: [(EventLoop, @Sendable () -> Void)])>((false, []))

    public init() {}

    /// Lets every held answer, and every later one, go on.
    public func open() {
        let waiters = state.withLockedValue { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for (loop, resume) in waiters { loop.execute(resume) }
    }

    public var isOpen: Bool { state.withLockedValue { $0.isOpen } }

    /// How many answers are held at the gate now.
    public var held: Int { state.withLockedValue { $0.waiters.count } }

    /// Runs `resume` on `loop` once the gate is open (at once, on the next tick, if it already is).
    func whenOpen(on loop: EventLoop, _ resume: @escaping @Sendable () -> Void) {
        let runNow = state.withLockedValue { state in
            if state.isOpen { return true }
            state.waiters.append((loop, resume))
            return false
        }
        if runNow { loop.execute(resume) }
    }
}
