using System.Text.Encodings.Web;
using System.Text.Json;

namespace Router.Core.Chat;

/// <summary>Produces the body sent upstream by splicing the client's bytes: the model is rewritten, the router's own
/// <c>router</c> object is removed and streams ask for usage (the client's other stream options kept); every other byte
/// is forwarded as the client sent it.</summary>
public static class UpstreamBodyWriter
{
    private static readonly byte[] IncludeUsageProperty = "\"stream_options\":{\"include_usage\":true}"u8.ToArray();
    private static readonly byte[] IncludeUsageMember = "\"include_usage\":true"u8.ToArray();

    /// <summary>Builds the upstream body for <paramref name="upstreamModel"/>.</summary>
    public static byte[] Write(ChatRequest request, string upstreamModel)
    {
        var body = request.Body.Span;
        Span<Edit> edits = stackalloc Edit[3];
        var count = 0;
        var model = JsonEncodedText.Encode(upstreamModel, JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        if (request.ModelValue.IsSet)
        {
            edits[count++] = new Edit(request.ModelValue.Start, request.ModelValue.End, EditKind.Model);
        }

        if (request.RouterProperty.IsSet)
        {
            var (start, end) = WidenToComma(body, request.RouterProperty.Start, request.RouterProperty.End);
            edits[count++] = new Edit(start, end, EditKind.Remove);
        }

        if (request.Stream)
        {
            if (request.IncludeUsageValue.IsSet)
            {
                // Only the flag's value changes: the client's other stream options (include_obfuscation…) go upstream.
                if (!body[request.IncludeUsageValue.Start..request.IncludeUsageValue.End].SequenceEqual("true"u8))
                {
                    edits[count++] = new Edit(request.IncludeUsageValue.Start, request.IncludeUsageValue.End, EditKind.True);
                }
            }
            else if (request.StreamOptionsValue.IsSet)
            {
                var open = request.StreamOptionsValue.Start + 1;
                var empty = body[open..(request.StreamOptionsValue.End - 1)].Trim(" \t\r\n"u8).IsEmpty;
                edits[count++] = new Edit(open, open, empty ? EditKind.InsertIncludeUsage : EditKind.InsertIncludeUsageFirst);
            }
            else if (request.StreamOptionsProperty.IsSet)
            {
                edits[count++] = new Edit(request.StreamOptionsProperty.Start, request.StreamOptionsProperty.End, EditKind.StreamOptions);
            }
            else
            {
                var open = body.IndexOf((byte)'{') + 1;
                edits[count++] = new Edit(open, open, EditKind.InsertStreamOptions);
            }
        }

        // An insertion sorts before a removal that starts where it goes (a body that opens with the router object and has
        // no stream_options): taken after it, it would be written from a position the removal has already passed.
        edits[..count].Sort((a, b) => a.Start != b.Start ? a.Start.CompareTo(b.Start) : a.End.CompareTo(b.End));
        var length = body.Length;
        foreach (var edit in edits[..count])
        {
            length += ReplacementLength(edit.Kind, model) - (edit.End - edit.Start);
        }

        var output = new byte[length];
        var written = 0;
        var position = 0;
        foreach (var edit in edits[..count])
        {
            body[position..edit.Start].CopyTo(output.AsSpan(written));
            written += edit.Start - position;
            written += WriteReplacement(edit.Kind, model, output.AsSpan(written));
            position = edit.End;
        }

        body[position..].CopyTo(output.AsSpan(written));
        return output;
    }

    private static int ReplacementLength(EditKind kind, JsonEncodedText model) => kind switch
    {
        EditKind.Model => model.EncodedUtf8Bytes.Length + 2,
        EditKind.StreamOptions => IncludeUsageProperty.Length,
        EditKind.InsertStreamOptions => IncludeUsageProperty.Length + 1,
        EditKind.True => 4,
        EditKind.InsertIncludeUsage => IncludeUsageMember.Length,
        EditKind.InsertIncludeUsageFirst => IncludeUsageMember.Length + 1,
        _ => 0,
    };

    private static int WriteReplacement(EditKind kind, JsonEncodedText model, Span<byte> destination)
    {
        switch (kind)
        {
            case EditKind.Model:
                destination[0] = (byte)'"';
                model.EncodedUtf8Bytes.CopyTo(destination[1..]);
                destination[model.EncodedUtf8Bytes.Length + 1] = (byte)'"';
                return model.EncodedUtf8Bytes.Length + 2;
            case EditKind.StreamOptions:
                IncludeUsageProperty.CopyTo(destination);
                return IncludeUsageProperty.Length;
            case EditKind.InsertStreamOptions:
                IncludeUsageProperty.CopyTo(destination);
                destination[IncludeUsageProperty.Length] = (byte)',';
                return IncludeUsageProperty.Length + 1;
            case EditKind.True:
                "true"u8.CopyTo(destination);
                return 4;
            case EditKind.InsertIncludeUsage:
                IncludeUsageMember.CopyTo(destination);
                return IncludeUsageMember.Length;
            case EditKind.InsertIncludeUsageFirst:
                IncludeUsageMember.CopyTo(destination);
                destination[IncludeUsageMember.Length] = (byte)',';
                return IncludeUsageMember.Length + 1;
            default:
                return 0;
        }
    }

    // Removing a property also removes one adjoining comma so the object stays valid JSON.
    private static (int Start, int End) WidenToComma(ReadOnlySpan<byte> body, int start, int end)
    {
        var after = end;
        while (after < body.Length && IsWhitespace(body[after]))
        {
            after++;
        }

        if (after < body.Length && body[after] == (byte)',')
        {
            return (start, after + 1);
        }

        var before = start - 1;
        while (before >= 0 && IsWhitespace(body[before]))
        {
            before--;
        }

        return before >= 0 && body[before] == (byte)',' ? (before, end) : (start, end);
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private enum EditKind
    {
        Model,
        Remove,
        StreamOptions,
        InsertStreamOptions,
        True,
        InsertIncludeUsage,
        InsertIncludeUsageFirst,
    }

    private readonly record struct Edit(int Start, int End, EditKind Kind);
}
