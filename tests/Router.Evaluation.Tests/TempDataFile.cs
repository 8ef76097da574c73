using System.Text;

namespace Router.Evaluation.Tests;

/// <summary>A JSON Lines file written byte for byte (BOM, CRLF, invalid UTF-8 as given), deleted on dispose.</summary>
internal sealed class TempDataFile : IDisposable
{
    public TempDataFile(string text, bool bom = false)
        : this([.. (bom ? "\uFEFF"u8.ToArray() : []), .. Encoding.UTF8.GetBytes(text)])
    {
    }

    public TempDataFile(byte[] bytes)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"router-eval-{Guid.NewGuid():N}.jsonl");
        File.WriteAllBytes(Path, bytes);
    }

    public string Path { get; }

    /// <summary>Lines joined with CRLF, a blank and a whitespace-only line among them.</summary>
    public static string Crlf(params string[] lines) => string.Join("\r\n", lines.Take(1).Concat(["", "  \t"]).Concat(lines.Skip(1))) + "\r\n";

    public void Dispose() => File.Delete(Path);
}
