// HTTPDate: HTTP-date parsing and formatting (RFC 9110 §5.6.7).
//
// "Recipients of timestamp values are encouraged to be robust in parsing timestamps unless
// otherwise restricted by the field definition": the three historical forms are accepted,
// only IMF-fixdate is generated. Anything else is invalid (nil) — the caller decides what an
// invalid date means (for Expires it means "already expired", RFC 9111 §5.3).

/// HTTP-date parsing and formatting.
public enum HTTPDate {
    private static let dayNames = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let longDayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), an obsolete RFC 850 date
    /// (`Sunday, 06-Nov-94 08:49:37 GMT`) or an asctime date (`Sun Nov  6 08:49:37 1994`).
    ///
    /// RFC 850 two-digit years: "Recipients ... MUST interpret a timestamp that appears to be more
    /// than 50 years in the future as representing the most recent year in the past that had the
    /// same last two digits" — applied against `now` when given, else years 70–99 are 19xx.
    public static func parse(_ text: String, now: Timestamp? = nil) -> Timestamp? {
        let value = FieldSyntax.trimmed(text)
        if let date = parseIMFFixdate(value) { return date }
        if let date = parseRFC850(value, now: now) { return date }
        return parseAsctime(value)
    }

    /// Formats as IMF-fixdate (RFC 9110 §5.6.7), the only form a sender may generate.
    /// Fractions of a second are dropped. The year is four digits (`year = 4DIGIT`), so times are
    /// clamped to 0000-01-01 … 9999-12-31 (a NaN is the earliest): what is formatted always parses
    /// back to itself (tools/fuzz FuzzHTTPDate found a year 994 written as "994").
    public static func format(_ time: Timestamp) -> String {
        let earliest = Double(days(year: 0, month: 1, day: 1) * 86_400)
        let latest = Double(days(year: 9999, month: 12, day: 31) * 86_400 + 86_399)
        let total = time.seconds.isNaN ? Int(earliest) : Int(min(max(time.seconds.rounded(.down), earliest), latest))
        var days = total / 86_400
        var secondsOfDay = total % 86_400
        if secondsOfDay < 0 {
            secondsOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = ((days % 7) + 7 + 3) % 7
        let fourDigitYear = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(dayNames[weekday]), \(pad(day)) \(monthNames[month - 1]) \(fourDigitYear) "
            + "\(pad(secondsOfDay / 3600)):\(pad(secondsOfDay / 60 % 60)):\(pad(secondsOfDay % 60)) GMT"
    }

    /// The length of every IMF-fixdate.
    static let imfFixdateLength = 29

    /// Writes the IMF-fixdate of `seconds` (0 up to year 9999) into the first 29 bytes of
    /// `buffer`, allocating nothing: the same text `format` makes.
    static func writeIMFFixdate(seconds: Int, to buffer: UnsafeMutableRawBufferPointer) {
        precondition(seconds >= 0 && buffer.count >= imfFixdateLength)
        let days = seconds / 86_400, secondsOfDay = seconds % 86_400
        let (year, month, day) = civil(fromDays: days)
        func put(_ text: StaticString, at offset: Int) {
            text.withUTF8Buffer { UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<offset + $0.count]).copyBytes(from: $0) }
        }
        func put(digits value: Int, count: Int, at offset: Int) {
            var rest = value
            for position in stride(from: offset + count - 1, through: offset, by: -1) {
                buffer[position] = UInt8(0x30 + rest % 10)
                rest /= 10
            }
        }
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        put(dayNameStatics[(days + 3) % 7], at: 0)
        put(", ", at: 3)
        put(digits: day, count: 2, at: 5)
        buffer[7] = 0x20
        put(monthNameStatics[month - 1], at: 8)
        buffer[11] = 0x20
        put(digits: year, count: 4, at: 12)
        buffer[16] = 0x20
        put(digits: secondsOfDay / 3600, count: 2, at: 17)
        buffer[19] = UInt8(ascii: ":")
        put(digits: secondsOfDay / 60 % 60, count: 2, at: 20)
        buffer[22] = UInt8(ascii: ":")
        put(digits: secondsOfDay % 60, count: 2, at: 23)
        put(" GMT", at: 25)
    }

    private static let dayNameStatics: [StaticString] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let monthNameStatics: [StaticString] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    // MARK: - Forms

    /// IMF-fixdate is 29 fixed bytes (`Sun, 06 Nov 1994 08:49:37 GMT`), read in place: every
    /// response carries a Date, and most a Last-Modified, so this runs on every fill.
    private static func parseIMFFixdate(_ value: String) -> Timestamp? {
        if let parsed = value.utf8.withContiguousStorageIfAvailable({ imfFixdate($0) }) { return parsed }
        return Array(value.utf8).withUnsafeBufferPointer { imfFixdate($0) }
    }

    private static let dayNameBytes = dayNames.map { Array($0.utf8) }
    private static let monthNameBytes = monthNames.map { Array($0.utf8) }

    // day-name "," SP date1 SP time-of-day SP GMT ; date1 = day SP month SP year
    private static func imfFixdate(_ bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard bytes.count == 29, bytes[3] == UInt8(ascii: ","), bytes[4] == 0x20, bytes[7] == 0x20, bytes[11] == 0x20,
              bytes[16] == 0x20, bytes[19] == UInt8(ascii: ":"), bytes[22] == UInt8(ascii: ":"), bytes[25] == 0x20,
              bytes[26] == UInt8(ascii: "G"), bytes[27] == UInt8(ascii: "M"), bytes[28] == UInt8(ascii: "T"),
              dayNameBytes.contains(where: { $0.elementsEqual(bytes[0..<3]) }),
              let month = monthNameBytes.firstIndex(where: { $0.elementsEqual(bytes[8..<11]) }),
              let day = digits(bytes[5..<7]), let year = digits(bytes[12..<16]), let hour = digits(bytes[17..<19]),
              let minute = digits(bytes[20..<22]), let second = digits(bytes[23..<25])
        else { return nil }
        return make(year: year, month: month + 1, day: day, hour: hour, minute: minute, second: second)
    }

    private static func parseRFC850(_ value: String, now: Timestamp?) -> Timestamp? {
        // day-name-l "," SP date2 SP time-of-day SP GMT ; date2 = day "-" month "-" 2DIGIT
        let parts = value.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].hasSuffix(","), longDayNames.contains(String(parts[0].dropLast())),
              parts[3] == "GMT" else { return nil }
        let dateParts = parts[1].split(separator: "-", omittingEmptySubsequences: false)
        guard dateParts.count == 3, dateParts[0].utf8.count == 2, dateParts[2].utf8.count == 2,
              let day = number(dateParts[0]), let month = monthNames.firstIndex(of: String(dateParts[1])),
              let shortYear = number(dateParts[2]) else { return nil }
        var year: Int
        if let now {
            let currentYear = civil(fromDays: Int((now.seconds / 86_400).rounded(.down))).year
            year = currentYear - currentYear % 100 + shortYear
            if year > currentYear + 50 { year -= 100 }
        } else {
            year = shortYear >= 70 ? 1900 + shortYear : 2000 + shortYear
        }
        return make(year: year, month: month + 1, day: day, time: parts[2])
    }

    private static func parseAsctime(_ value: String) -> Timestamp? {
        // day-name SP month SP ( 2DIGIT / ( SP DIGIT )) SP time-of-day SP year
        let bytes = Array(value.utf8)
        guard bytes.count == 24 else { return nil }
        let dayName = String(decoding: bytes[0..<3], as: UTF8.self)
        let monthName = String(decoding: bytes[4..<7], as: UTF8.self)
        guard dayNames.contains(dayName), bytes[3] == 0x20, bytes[7] == 0x20, bytes[10] == 0x20, bytes[19] == 0x20,
              let month = monthNames.firstIndex(of: monthName) else { return nil }
        let dayText = bytes[8] == 0x20 ? bytes[9..<10] : bytes[8..<10]
        guard let day = number(Substring(String(decoding: dayText, as: UTF8.self))),
              let year = number(Substring(String(decoding: bytes[20..<24], as: UTF8.self))) else { return nil }
        let time = String(decoding: bytes[11..<19], as: UTF8.self)
        return make(year: year, month: month + 1, day: day, time: time[...])
    }

    // MARK: - Pieces

    private static func make(year: Int, month: Int, day: Int, time: Substring) -> Timestamp? {
        let fields = time.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 3, fields.allSatisfy({ $0.utf8.count == 2 }),
              let hour = number(fields[0]), let minute = number(fields[1]), let second = number(fields[2])
        else { return nil }
        return make(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    private static func make(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Timestamp? {
        guard hour < 24, minute < 60, second <= 60, day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        let days = self.days(year: year, month: month, day: day)
        return Timestamp(seconds: Double(days * 86_400 + hour * 3600 + minute * 60 + second))
    }

    private static func number(_ text: Substring) -> Int? {
        digits(text.utf8)
    }

    /// The value of a run of one to nine ASCII digits, or nil.
    private static func digits(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 9 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private static func pad(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date for a day count since 1970-01-01.
    public static func civil(fromDays count: Int) -> (year: Int, month: Int, day: Int) {
        let z = count + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
