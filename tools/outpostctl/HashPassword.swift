// outpostctl hash-password NAME: reads a password from standard input (one line) and prints the
// users-file line for the forward proxy's `access.users` (PBKDF2-SHA256, a random salt). The
// password is never an argument, so it does not land in shell history or the process list.
import ArgumentParser
import EdgeHTTP
import Foundation

struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print a forward-proxy users-file line for NAME, reading the password from standard input.",
        discussion: """
            Example:
              read -rs PASSWORD; printf '%s\\n' "$PASSWORD" | outpostctl hash-password ana >> /etc/outpost/proxy-users
            """)

    @Argument(help: "The user name (no ':').") var name: String
    @Option(help: "PBKDF2 rounds (default 210000, OWASP's figure for PBKDF2-SHA256 in 2023).") var rounds = 210_000

    func validate() throws {
        guard !name.isEmpty, !name.contains(":"), !name.contains(where: \.isNewline) else {
            throw ValidationError("the name must be non-empty, without ':' or line breaks")
        }
        guard rounds >= 1_000 else { throw ValidationError("--rounds must be at least 1000") }
    }

    func run() throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw ValidationError("no password on standard input")
        }
        print(try ProxyCredentials.usersFileLine(name: name, password: password, rounds: rounds))
    }
}
