// How numbers print in the tables: fixed, invariant culture, units in the column names.
using System.Globalization;

namespace Microsoft.ML.Morphism.Benchmarks.Runner;

internal static class Format
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string Fixed(double value, int decimals) => double.IsFinite(value) ? value.ToString("F" + decimals, C) : value.ToString(C);

    /// <summary>Scientific with 2 decimals, e.g. 3.41e-07 (errors span many orders of magnitude).</summary>
    public static string Sci(double value) => value == 0 ? "0" : value.ToString("0.00e+00", C);

    public static string Ms(double milliseconds) => milliseconds >= 100 ? Fixed(milliseconds, 0) : milliseconds >= 10 ? Fixed(milliseconds, 1) : Fixed(milliseconds, 2);

    public static string Percent(double fraction) => Fixed(100 * fraction, 1) + " %";

    public static string Integer(long value) => value.ToString("N0", C);

    public static string Ratio(double value) => Fixed(value, 2) + "×";

    public static string MegaBytes(long bytes) => Fixed(bytes / 1048576.0, 1);

    public static string OrDash(double? value, Func<double, string> format) => value is { } v ? format(v) : "—";
}
