// A small JSON reader for the test vectors (the JVM has no JSON parser without Maven packages).
// Objects become LinkedHashMap<String, Any?>, arrays List<Any?>, numbers Double, plus String,
// Boolean and null. Test support only: the binding itself never parses JSON.
package apig.tests

class JsonError(message: String) : Exception(message)

object Json {
    fun parse(text: String): Any? {
        val reader = Reader(text)
        val value = reader.value()
        reader.skipSpace()
        if (reader.pos != text.length) throw reader.error("trailing characters")
        return value
    }

    private class Reader(val s: String) {
        var pos = 0

        fun error(what: String) = JsonError("JSON: $what at offset $pos")

        fun skipSpace() {
            while (pos < s.length && s[pos] in " \t\r\n") pos++
        }

        fun value(): Any? {
            skipSpace()
            if (pos >= s.length) throw error("unexpected end")
            return when (s[pos]) {
                '{' -> obj()
                '[' -> array()
                '"' -> string()
                't' -> literal("true", true)
                'f' -> literal("false", false)
                'n' -> literal("null", null)
                else -> number()
            }
        }

        fun literal(word: String, value: Any?): Any? {
            if (!s.startsWith(word, pos)) throw error("expected $word")
            pos += word.length
            return value
        }

        fun number(): Double {
            val start = pos
            while (pos < s.length && (s[pos].isDigit() || s[pos] in "+-.eE")) pos++
            return s.substring(start, pos).toDoubleOrNull() ?: throw error("bad number")
        }

        fun obj(): Map<String, Any?> {
            val out = LinkedHashMap<String, Any?>()
            pos++
            skipSpace()
            if (pos < s.length && s[pos] == '}') { pos++; return out }
            while (true) {
                skipSpace()
                if (pos >= s.length || s[pos] != '"') throw error("expected a key")
                val key = string()
                skipSpace()
                if (pos >= s.length || s[pos] != ':') throw error("expected ':'")
                pos++
                out[key] = value()
                skipSpace()
                if (pos >= s.length) throw error("unexpected end")
                when (s[pos++]) {
                    ',' -> continue
                    '}' -> return out
                    else -> throw error("expected ',' or '}'")
                }
            }
        }

        fun array(): List<Any?> {
            val out = ArrayList<Any?>()
            pos++
            skipSpace()
            if (pos < s.length && s[pos] == ']') { pos++; return out }
            while (true) {
                out.add(value())
                skipSpace()
                if (pos >= s.length) throw error("unexpected end")
                when (s[pos++]) {
                    ',' -> continue
                    ']' -> return out
                    else -> throw error("expected ',' or ']'")
                }
            }
        }

        fun string(): String {
            val out = StringBuilder()
            pos++
            while (true) {
                if (pos >= s.length) throw error("unterminated string")
                val c = s[pos++]
                when {
                    c == '"' -> return out.toString()
                    c == '\\' -> {
                        if (pos >= s.length) throw error("unterminated escape")
                        when (val e = s[pos++]) {
                            '"', '\\', '/' -> out.append(e)
                            'b' -> out.append('\b')
                            'f' -> out.append('\u000C')
                            'n' -> out.append('\n')
                            'r' -> out.append('\r')
                            't' -> out.append('\t')
                            'u' -> {
                                if (pos + 4 > s.length) throw error("short \\u escape")
                                val code = s.substring(pos, pos + 4).toIntOrNull(16) ?: throw error("bad \\u escape")
                                out.append(code.toChar())
                                pos += 4
                            }
                            else -> throw error("bad escape \\$e")
                        }
                    }
                    c < ' ' -> throw error("control character in string")
                    else -> out.append(c)
                }
            }
        }
    }
}
