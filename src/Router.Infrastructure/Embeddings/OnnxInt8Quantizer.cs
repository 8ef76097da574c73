using System.Buffers.Binary;
using System.Text;

namespace Router.Infrastructure.Embeddings;

/// <summary>
/// Dynamic int8 quantisation of an ONNX model's constant-weight <c>MatMul</c> nodes, done in memory at load time:
/// each <c>MatMul(A, W)</c> whose <c>W</c> is a 2-D float initializer becomes ONNX Runtime's
/// <c>com.microsoft.DynamicQuantizeMatMul(A, Wq, scale, zero_point)</c> with symmetric per-column int8 weights.
/// Only the few protobuf fields involved are parsed; every other byte of the model is copied through unchanged.
/// </summary>
internal static class OnnxInt8Quantizer
{
    private const int ModelGraphField = 7;
    private const int ModelOpsetImportField = 8;
    private const int GraphNodeField = 1;
    private const int GraphInitializerField = 5;
    private const int DataTypeFloat = 1;
    private const int DataTypeInt8 = 3;

    public static byte[] Quantize(byte[] model, out int quantizedNodes)
    {
        var graphRange = FindField(model, 0, model.Length, ModelGraphField)
            ?? throw new InvalidDataException("ONNX model has no graph.");
        var graph = model.AsSpan(graphRange.Start, graphRange.Length).ToArray();
        var newGraph = QuantizeGraph(graph, out quantizedNodes);

        using var output = new MemoryStream(model.Length / 3);
        var position = 0;
        while (position < model.Length)
        {
            var fieldStart = position;
            var (field, wireType) = ReadTag(model, ref position);
            SkipValue(model, ref position, wireType);
            if (field == ModelGraphField)
            {
                WriteBytesField(output, ModelGraphField, newGraph);
            }
            else
            {
                output.Write(model, fieldStart, position - fieldStart);
            }
        }

        // The contrib operator lives in the com.microsoft domain, which the model must import.
        using var opset = new MemoryStream();
        WriteBytesField(opset, 1, Encoding.UTF8.GetBytes("com.microsoft"));
        WriteVarintField(opset, 2, 1);
        WriteBytesField(output, ModelOpsetImportField, opset.ToArray());
        return output.ToArray();
    }

    private static byte[] QuantizeGraph(byte[] graph, out int quantizedNodes)
    {
        var initializers = new Dictionary<string, (int Start, int Length)>(StringComparer.Ordinal);
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        var position = 0;
        while (position < graph.Length)
        {
            var (field, wireType) = ReadTag(graph, ref position);
            var valueStart = position;
            SkipValue(graph, ref position, wireType);
            if (wireType != 2)
            {
                continue;
            }

            var (start, length) = LengthDelimited(graph, valueStart);
            if (field == GraphInitializerField)
            {
                var name = ReadStringField(graph, start, length, 8);
                if (name is not null)
                {
                    initializers[name] = (start, length);
                }
            }
            else if (field == GraphNodeField)
            {
                foreach (var input in ReadRepeatedStrings(graph, start, length, 1))
                {
                    uses[input] = uses.GetValueOrDefault(input) + 1;
                }
            }
        }

        using var output = new MemoryStream(graph.Length / 3);
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        var added = new List<byte[]>();
        quantizedNodes = 0;
        position = 0;
        while (position < graph.Length)
        {
            var fieldStart = position;
            var (field, wireType) = ReadTag(graph, ref position);
            var valueStart = position;
            SkipValue(graph, ref position, wireType);
            if (field == GraphNodeField && wireType == 2)
            {
                var (start, length) = LengthDelimited(graph, valueStart);
                var node = TryQuantizeNode(graph, start, length, initializers, uses, added, replaced);
                if (node is not null)
                {
                    WriteBytesField(output, GraphNodeField, node);
                    quantizedNodes++;
                    continue;
                }
            }
            else if (field == GraphInitializerField && wireType == 2)
            {
                var (start, length) = LengthDelimited(graph, valueStart);
                var name = ReadStringField(graph, start, length, 8);
                if (name is not null && replaced.Contains(name))
                {
                    continue;
                }
            }

            output.Write(graph, fieldStart, position - fieldStart);
        }

        // Initializers may precede the nodes that replaced them, so drop originals in a second pass over the output.
        var first = output.ToArray();
        using var final = new MemoryStream(first.Length + added.Sum(a => a.Length + 8));
        position = 0;
        while (position < first.Length)
        {
            var fieldStart = position;
            var (field, wireType) = ReadTag(first, ref position);
            var valueStart = position;
            SkipValue(first, ref position, wireType);
            if (field == GraphInitializerField && wireType == 2)
            {
                var (start, length) = LengthDelimited(first, valueStart);
                var name = ReadStringField(first, start, length, 8);
                if (name is not null && replaced.Contains(name))
                {
                    continue;
                }
            }

            final.Write(first, fieldStart, position - fieldStart);
        }

        foreach (var tensor in added)
        {
            WriteBytesField(final, GraphInitializerField, tensor);
        }

        return final.ToArray();
    }

    private static byte[]? TryQuantizeNode(
        byte[] graph, int start, int length,
        Dictionary<string, (int Start, int Length)> initializers,
        Dictionary<string, int> uses,
        List<byte[]> added,
        HashSet<string> replaced)
    {
        var opType = ReadStringField(graph, start, length, 4);
        if (opType != "MatMul")
        {
            return null;
        }

        var inputs = ReadRepeatedStrings(graph, start, length, 1).ToList();
        if (inputs.Count != 2 || !initializers.TryGetValue(inputs[1], out var weightRange) || uses.GetValueOrDefault(inputs[1]) != 1)
        {
            return null;
        }

        var weight = ReadFloatMatrix(graph, weightRange.Start, weightRange.Length);
        if (weight is null)
        {
            return null;
        }

        var (rows, columns, values) = weight.Value;
        var quantized = new byte[rows * columns];
        var scales = new float[columns];
        for (var c = 0; c < columns; c++)
        {
            var max = 0f;
            for (var r = 0; r < rows; r++)
            {
                max = MathF.Max(max, MathF.Abs(values[(r * columns) + c]));
            }

            var scale = max > 0 ? max / 127f : 1f;
            scales[c] = scale;
            for (var r = 0; r < rows; r++)
            {
                var q = (int)MathF.Round(values[(r * columns) + c] / scale);
                quantized[(r * columns) + c] = unchecked((byte)(sbyte)Math.Clamp(q, -127, 127));
            }
        }

        var weightName = inputs[1];
        replaced.Add(weightName);
        var qName = weightName + "_int8";
        var scaleName = weightName + "_scale";
        var zeroName = weightName + "_zero_point";
        added.Add(Tensor(qName, [rows, columns], DataTypeInt8, quantized));
        var scaleBytes = new byte[columns * 4];
        for (var c = 0; c < columns; c++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(scaleBytes.AsSpan(c * 4), scales[c]);
        }

        added.Add(Tensor(scaleName, [columns], DataTypeFloat, scaleBytes));
        added.Add(Tensor(zeroName, [columns], DataTypeInt8, new byte[columns]));

        var outputs = ReadRepeatedStrings(graph, start, length, 2).ToList();
        var name = ReadStringField(graph, start, length, 3) ?? outputs[0];
        using var node = new MemoryStream();
        foreach (var input in new[] { inputs[0], qName, scaleName, zeroName })
        {
            WriteBytesField(node, 1, Encoding.UTF8.GetBytes(input));
        }

        foreach (var o in outputs)
        {
            WriteBytesField(node, 2, Encoding.UTF8.GetBytes(o));
        }

        WriteBytesField(node, 3, Encoding.UTF8.GetBytes(name + "_quant"));
        WriteBytesField(node, 4, Encoding.UTF8.GetBytes("DynamicQuantizeMatMul"));
        WriteBytesField(node, 7, Encoding.UTF8.GetBytes("com.microsoft"));
        return node.ToArray();
    }

    private static (int Rows, int Columns, float[] Values)? ReadFloatMatrix(byte[] buffer, int start, int length)
    {
        var dims = new List<long>(2);
        var dataType = 0;
        ReadOnlySpan<byte> raw = default;
        List<float>? floats = null;
        var position = start;
        var end = start + length;
        while (position < end)
        {
            var (field, wireType) = ReadTag(buffer, ref position);
            var valueStart = position;
            SkipValue(buffer, ref position, wireType);
            switch (field, wireType)
            {
                case (1, 0):
                    var p = valueStart;
                    dims.Add((long)ReadVarint(buffer, ref p));
                    break;
                case (1, 2):
                    var (ds, dl) = LengthDelimited(buffer, valueStart);
                    var q = ds;
                    while (q < ds + dl)
                    {
                        dims.Add((long)ReadVarint(buffer, ref q));
                    }

                    break;
                case (2, 0):
                    var t = valueStart;
                    dataType = (int)ReadVarint(buffer, ref t);
                    break;
                case (9, 2):
                    var (rs, rl) = LengthDelimited(buffer, valueStart);
                    raw = buffer.AsSpan(rs, rl);
                    break;
                case (4, 2):
                    var (fs, fl) = LengthDelimited(buffer, valueStart);
                    floats ??= new List<float>(fl / 4);
                    for (var i = 0; i < fl; i += 4)
                    {
                        floats.Add(BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(fs + i, 4)));
                    }

                    break;
                case (13, _):
                    return null; // external data is not supported
            }
        }

        if (dataType != DataTypeFloat || dims.Count != 2 || dims[0] * dims[1] > int.MaxValue)
        {
            return null;
        }

        var count = (int)(dims[0] * dims[1]);
        var values = new float[count];
        if (raw.Length == count * 4)
        {
            for (var i = 0; i < count; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4, 4));
            }
        }
        else if (floats is not null && floats.Count == count)
        {
            floats.CopyTo(values);
        }
        else
        {
            return null;
        }

        return ((int)dims[0], (int)dims[1], values);
    }

    private static byte[] Tensor(string name, long[] dims, int dataType, byte[] raw)
    {
        using var tensor = new MemoryStream(raw.Length + 64);
        foreach (var d in dims)
        {
            WriteVarintField(tensor, 1, (ulong)d);
        }

        WriteVarintField(tensor, 2, (ulong)dataType);
        WriteBytesField(tensor, 8, Encoding.UTF8.GetBytes(name));
        WriteBytesField(tensor, 9, raw);
        return tensor.ToArray();
    }

    private static (int Start, int Length)? FindField(byte[] buffer, int start, int end, int wanted)
    {
        var position = start;
        while (position < end)
        {
            var (field, wireType) = ReadTag(buffer, ref position);
            var valueStart = position;
            SkipValue(buffer, ref position, wireType);
            if (field == wanted && wireType == 2)
            {
                return LengthDelimited(buffer, valueStart);
            }
        }

        return null;
    }

    private static string? ReadStringField(byte[] buffer, int start, int length, int wanted)
    {
        var range = FindField(buffer, start, start + length, wanted);
        return range is { } r ? Encoding.UTF8.GetString(buffer, r.Start, r.Length) : null;
    }

    private static IEnumerable<string> ReadRepeatedStrings(byte[] buffer, int start, int length, int wanted)
    {
        var position = start;
        var end = start + length;
        while (position < end)
        {
            var (field, wireType) = ReadTag(buffer, ref position);
            var valueStart = position;
            SkipValue(buffer, ref position, wireType);
            if (field == wanted && wireType == 2)
            {
                var (s, l) = LengthDelimited(buffer, valueStart);
                yield return Encoding.UTF8.GetString(buffer, s, l);
            }
        }
    }

    private static (int Start, int Length) LengthDelimited(byte[] buffer, int position)
    {
        var length = (int)ReadVarint(buffer, ref position);
        return (position, length);
    }

    private static (int Field, int WireType) ReadTag(byte[] buffer, ref int position)
    {
        var tag = ReadVarint(buffer, ref position);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static ulong ReadVarint(byte[] buffer, ref int position)
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            var b = buffer[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }

            shift += 7;
            if (shift > 63)
            {
                throw new InvalidDataException("Malformed varint in ONNX model.");
            }
        }
    }

    private static void SkipValue(byte[] buffer, ref int position, int wireType)
    {
        switch (wireType)
        {
            case 0:
                ReadVarint(buffer, ref position);
                break;
            case 1:
                position += 8;
                break;
            case 2:
                var length = (int)ReadVarint(buffer, ref position);
                position += length;
                break;
            case 5:
                position += 4;
                break;
            default:
                throw new InvalidDataException($"Unsupported protobuf wire type {wireType} in ONNX model.");
        }
    }

    private static void WriteVarint(Stream stream, ulong value)
    {
        while (value >= 0x80)
        {
            stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        stream.WriteByte((byte)value);
    }

    private static void WriteVarintField(Stream stream, int field, ulong value)
    {
        WriteVarint(stream, (ulong)((field << 3) | 0));
        WriteVarint(stream, value);
    }

    private static void WriteBytesField(Stream stream, int field, byte[] value)
    {
        WriteVarint(stream, (ulong)((field << 3) | 2));
        WriteVarint(stream, (ulong)value.Length);
        stream.Write(value);
    }
}
