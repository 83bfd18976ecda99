import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeInvalidUtf8 } from './charset-repair.ts';
import { parseInbound } from './parse.ts';

const test = suite('Body text that is not the UTF-8 it is taken for');

const gbk = Buffer.from('bbfab7bfbbb7beb3b7a8b9e6', 'hex'); // 机房环境法规

test('valid UTF-8 is left to mailparser', () => {
  assert.is(decodeInvalidUtf8(Buffer.from('Größe 差出人', 'utf8')), null);
});

test('a stray Latin-1 byte in UTF-8 is read as windows-1252, the UTF-8 around it as UTF-8', () => {
  const bytes = Buffer.concat([
    Buffer.from('Это — matt li'),
    Buffer.of(0xee),
    Buffer.from('ed ryan, caf'),
    Buffer.of(0xe9),
  ]);
  assert.is(decodeInvalidUtf8(bytes), 'Это — matt liîed ryan, café');
  assert.is(decodeInvalidUtf8(Buffer.of(0x93, 0x61, 0x94)), '“a”');
  // the bytes windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) stay C1 controls
  assert.is(decodeInvalidUtf8(Buffer.of(0x80, 0x8a, 0x9d, 0x9f)), '€Š\u009dŸ');
});

test('an undeclared GBK text is read as GBK; Latin text with 8-bit pairs is not', () => {
  assert.is(decodeInvalidUtf8(Buffer.concat([gbk, Buffer.from('\nMessage-ID: x')])), '机房环境法规\nMessage-ID: x');
  // "Größe" in windows-1252 decodes strictly as GBK as well, but a Latin text it is
  assert.is(decodeInvalidUtf8(Buffer.from('Größe und Straße', 'latin1')), 'Größe und Straße');
  // nor is Russian in KOI8-R ("тест тест"), which is no more windows-1252 than GBK: byte by byte
  assert.is(decodeInvalidUtf8(Buffer.from('d4c5d3d420d4c5d3d4', 'hex')), 'ÔÅÓÔ ÔÅÓÔ');
});

test('parseInbound reads such a body again: undeclared GBK, a stray byte in declared US-ASCII HTML', async () => {
  const plain = await parseInbound(
    Buffer.concat([Buffer.from('From: a@b.se\r\nSubject: x\r\n\r\n'), gbk, Buffer.from('\r\nhej\r\n')]),
  );
  assert.is(plain.text.trim(), '机房环境法规\nhej');
  const html = await parseInbound(
    Buffer.concat([
      Buffer.from(
        'From: a@b.se\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n' +
          '--b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nle=EE charlie\r\n' +
          '--b\r\nContent-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>le=EE charlie</p>\r\n--b--\r\n',
      ),
    ]),
  );
  assert.match(html.html ?? '', '<p>leî charlie</p>');
  // a transfer-encoded part of 7-bit text is left as mailparser read it
  assert.match(html.text, 'le=EE charlie');
});

test.run();
