import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { findMentions, highlightMentions, textOfRichText } from './mentions.ts';

const parsing = suite('Finding @mentions in text');

parsing('a lone mention is found, upper-cased as logins are stored', () => {
  assert.equal(findMentions('@kalle'), ['KALLE']);
});

parsing('case does not matter and a user is named once however often mentioned', () => {
  assert.equal(findMentions('hej @ANNA!'), ['ANNA']);
  assert.equal(findMentions('@anna @ANNA'), ['ANNA']);
  assert.equal(findMentions('@Anna, @kalle och @anna igen'), ['ANNA', 'KALLE']);
});

parsing('an e-mail address is no mention', () => {
  assert.equal(findMentions('mail a@kalle.se'), []);
  assert.equal(findMentions('skriv till anna.b@acme.se eller @kalle'), ['KALLE']);
  assert.equal(findMentions('hej@anna'), []);
});

parsing('an unknown login is still a mention here; the database decides who exists', () => {
  assert.equal(findMentions('@nobody'), ['NOBODY']);
});

parsing('punctuation around a mention ends it', () => {
  assert.equal(findMentions('(@anna)'), ['ANNA']);
  assert.equal(findMentions('Fråga @anna.'), ['ANNA']);
  assert.equal(findMentions('@anna: titta, @kalle; tack'), ['ANNA', 'KALLE']);
  assert.equal(findMentions('"@anna"'), ['ANNA']);
  assert.equal(findMentions('@anna?'), ['ANNA']);
  assert.equal(findMentions('@anna-'), ['ANNA']);
});

parsing('dots, dashes and underscores inside a login belong to it', () => {
  assert.equal(findMentions('@anna.b och @per-olof och @lisa_2'), ['ANNA.B', 'PER-OLOF', 'LISA_2']);
});

parsing('mentions at the very start and end of the text, and on their own lines', () => {
  assert.equal(findMentions('@anna titta här @kalle'), ['ANNA', 'KALLE']);
  assert.equal(findMentions('rad ett\n@anna\n@kalle'), ['ANNA', 'KALLE']);
});

parsing('Swedish letters glued to either side make it a word, not a mention', () => {
  assert.equal(findMentions('å@anna'), []);
  assert.equal(findMentions('@annaö'), []);
  assert.equal(findMentions('Hör av dig @åsa'), []);
  assert.equal(findMentions('för @anna är här'), ['ANNA']);
  assert.equal(findMentions('ÅÄÖ @anna ÅÄÖ'), ['ANNA']);
});

parsing('a lone @ or a double @@ is nothing', () => {
  assert.equal(findMentions('@ anna'), []);
  assert.equal(findMentions('@@anna'), []);
  assert.equal(findMentions(''), []);
});

const html = suite('Mentions in rich text');

html('the text of rich text leaves attribute values out and keeps lines apart', () => {
  const text = textOfRichText('<div>hej</div><div>@anna <a href="mailto:x@kalle.se">mejl</a> &amp; @per</div>');
  assert.equal(findMentions(text), ['ANNA', 'PER']);
  assert.equal(findMentions(textOfRichText('<div>rad<br>@kalle</div>')), ['KALLE']);
  assert.equal(findMentions(textOfRichText('<img src="/i/@anna" alt="@kalle">')), []);
});

html('inline formatting does not split a word', () => {
  assert.equal(findMentions(textOfRichText('<div>hej<strong>@anna</strong></div>')), []);
  assert.equal(findMentions(textOfRichText('<div>hej <strong>@anna</strong>!</div>')), ['ANNA']);
});

html('known logins are marked, unknown ones and e-mail addresses are not', () => {
  const known = new Set(['ANNA', 'KALLE']);
  assert.is(
    highlightMentions('<div>Hej @anna och @nobody, mejla a@kalle.se</div>', known),
    '<div>Hej <mark class="mention">@anna</mark> och @nobody, mejla a@kalle.se</div>',
  );
  assert.is(
    highlightMentions('<div>&lt;b&gt; @KALLE</div>', known),
    '<div>&lt;b&gt; <mark class="mention">@KALLE</mark></div>',
  );
  assert.is(highlightMentions('<div>hej<strong>@anna</strong></div>', known), '<div>hej<strong>@anna</strong></div>');
  assert.is(
    highlightMentions('<a href="https://x.se/@anna">@anna</a>', known),
    '<a href="https://x.se/@anna">@anna</a>',
    'link text stays a link',
  );
});

parsing.run();
html.run();
