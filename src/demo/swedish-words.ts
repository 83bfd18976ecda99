// Word lists the synthetic organisation is put together from. Real Swedish words, so that the
// overview's full-text search (Swedish stemming) finds what a user would type.

export const agents = [
  { login: 'KALLE', name: 'Kalle Svensson' },
  { login: 'ANNA', name: 'Anna Lindqvist' },
  { login: 'ERIK', name: 'Erik Johansson' },
  { login: 'SARA', name: 'Sara Nilsson' },
  { login: 'JOHAN', name: 'Johan Berg' },
  { login: 'MARIA', name: 'Maria Ek' },
  { login: 'LARS', name: 'Lars Holm' },
  { login: 'KARIN', name: 'Karin Sjöberg' },
  { login: 'PETER', name: 'Peter Lundgren' },
  { login: 'LENA', name: 'Lena Öberg' },
  { login: 'MATS', name: 'Mats Gustafsson' },
  { login: 'SOFIA', name: 'Sofia Lindahl' },
  { login: 'OSKAR', name: 'Oskar Wallin' },
  { login: 'IDA', name: 'Ida Persson' },
  { login: 'NILS', name: 'Nils Bergman' },
  { login: 'EMMA', name: 'Emma Forsberg' },
  { login: 'ANDERS', name: 'Anders Nyström' },
  { login: 'ELIN', name: 'Elin Holmberg' },
  { login: 'MIKAEL', name: 'Mikael Sandberg' },
  { login: 'HANNA', name: 'Hanna Eklund' },
  { login: 'FREDRIK', name: 'Fredrik Lundin' },
  { login: 'LINNEA', name: 'Linnéa Björk' },
  { login: 'JONAS', name: 'Jonas Håkansson' },
  { login: 'AMIRA', name: 'Amira Hassan' },
  { login: 'DANIEL', name: 'Daniel Samuelsson' },
  { login: 'ASA', name: 'Åsa Fransson' },
  { login: 'PATRIK', name: 'Patrik Isaksson' },
  { login: 'MALIN', name: 'Malin Söderberg' },
  { login: 'VIKTOR', name: 'Viktor Nyberg' },
  { login: 'JOSEFIN', name: 'Josefin Blomqvist' },
];

export const surnames = [
  'Andersson',
  'Johansson',
  'Karlsson',
  'Nilsson',
  'Eriksson',
  'Larsson',
  'Olsson',
  'Persson',
  'Svensson',
  'Gustafsson',
  'Pettersson',
  'Jonsson',
  'Jansson',
  'Hansson',
  'Bengtsson',
  'Ström',
  'Lindberg',
  'Jakobsson',
  'Magnusson',
  'Olofsson',
  'Lindström',
  'Lindqvist',
  'Lindgren',
  'Berg',
  'Axelsson',
  'Bergström',
  'Lundberg',
  'Lind',
  'Lundgren',
  'Lundqvist',
  'Mattsson',
  'Berglund',
  'Fredriksson',
  'Sandberg',
  'Henriksson',
  'Forsberg',
  'Sjöberg',
  'Wallin',
  'Engström',
  'Eklund',
  'Danielsson',
  'Lundin',
  'Håkansson',
  'Björk',
  'Bergman',
  'Gunnarsson',
  'Holm',
  'Wikström',
  'Samuelsson',
  'Isaksson',
  'Fransson',
  'Bergqvist',
  'Nyström',
  'Holmberg',
  'Arvidsson',
  'Löfgren',
  'Söderberg',
  'Nyberg',
  'Blomqvist',
  'Claesson',
];

export const firstNames = [
  'Lars',
  'Maria',
  'Johan',
  'Eva',
  'Karin',
  'Peter',
  'Lena',
  'Ali',
  'Mats',
  'Sofia',
  'Oskar',
  'Fatima',
  'Nils',
  'Ida',
  'Anders',
  'Kerstin',
  'Per',
  'Ingrid',
  'Magnus',
  'Birgitta',
  'Mikael',
  'Elin',
  'Hassan',
  'Ulla',
  'Björn',
  'Camilla',
  'Jan',
  'Linda',
  'Stefan',
  'Annika',
  'Tomas',
  'Helena',
  'Göran',
  'Susanne',
  'Henrik',
  'Jenny',
  'Ahmed',
  'Marie',
  'Robert',
  'Therese',
  'Mohammed',
  'Åsa',
  'Ulf',
  'Malin',
  'Leila',
  'Gunnar',
  'Josefin',
  'Bo',
  'Emelie',
  'Rasmus',
];

export const trades = [
  'Bygg',
  'Måleri',
  'El & VVS',
  'Redovisning',
  'Transport',
  'Fastigheter',
  'Åkeri',
  'Tandvård',
  'Bageri',
  'Konsult',
  'Data',
  'Städ',
  'Trädgård',
  'Rör',
  'Revision',
  'Juristbyrå',
  'Reklambyrå',
  'Bilverkstad',
  'Tryckeri',
  'Kafé',
  'Frisör',
  'Fysioterapi',
  'Mekaniska',
  'Möbler',
  'Blommor',
];

export const places = [
  'Stockholm',
  'Göteborg',
  'Malmö',
  'Uppsala',
  'Västerås',
  'Örebro',
  'Linköping',
  'Helsingborg',
  'Jönköping',
  'Norrköping',
  'Lund',
  'Umeå',
  'Gävle',
  'Borås',
  'Södertälje',
  'Eskilstuna',
  'Halmstad',
  'Växjö',
  'Karlstad',
  'Sundsvall',
];

// What a case is about: a subject and what is wrong with it. The title is "subject problem";
// the first message says the same in a sentence. `located`: the subject sits somewhere.
const topics: { subjects: string[]; problems: string[]; located: boolean }[] = [
  {
    subjects: ['Skrivaren', 'Kopiatorn', 'Skannern', 'Etikettskrivaren'],
    problems: ['fastnar', 'skriver ut tomma sidor', 'fungerar inte', 'säger att tonern är slut', 'drar in flera ark'],
    located: true,
  },
  {
    subjects: ['Datorn', 'Skärmen', 'Dockningsstationen', 'Tangentbordet', 'Projektorn', 'Headsetet'],
    problems: ['startar inte', 'går långsamt', 'låser sig', 'blinkar', 'fungerar inte', 'visar ett felmeddelande'],
    located: true,
  },
  {
    subjects: ['Nätverket', 'Wifi-nätet', 'Routern', 'VPN-anslutningen', 'Servern', 'Brandväggen'],
    problems: ['går långsamt', 'kopplar ner hela tiden', 'går inte att nå', 'fungerar inte', 'ligger nere'],
    located: true,
  },
  {
    subjects: ['E-posten', 'Kalendern', 'Portalen', 'Lönesystemet', 'Kassasystemet', 'Webbshoppen', 'Ekonomisystemet'],
    problems: ['går inte att logga in i', 'visar fel uppgifter', 'är mycket långsam', 'har slutat synka', 'kraschar'],
    located: false,
  },
  {
    subjects: ['Fakturan', 'Kreditnotan', 'Påminnelsen', 'Offerten'],
    problems: ['saknas', 'har fel belopp', 'har fel referens', 'har kommit två gånger', 'har fel adress'],
    located: false,
  },
  {
    subjects: ['Leveransen', 'Beställningen', 'Returen', 'Tonerbeställningen'],
    problems: ['är försenad', 'kom skadad', 'saknar delar', 'har inte kommit', 'blev fel'],
    located: false,
  },
  {
    subjects: ['Avtalet', 'Licensen', 'Supportavtalet', 'Abonnemanget'],
    problems: ['ska förlängas', 'ska sägas upp', 'behöver ändras', 'har gått ut', 'är otydligt'],
    located: false,
  },
  {
    subjects: ['Larmet', 'Passersystemet', 'Kortterminalen', 'Telefonväxeln', 'Mobilen'],
    problems: ['piper hela tiden', 'fungerar inte', 'går inte att nå', 'behöver bytas', 'har slutat fungera'],
    located: true,
  },
];

// Every combination, flattened: the SQL picks one by index.
export const caseSubjects: string[] = [];
export const caseProblems: string[] = [];
export const caseLocated: boolean[] = [];
// The thing itself in lower case ("skrivaren"), for replies that mention it.
export const caseThings: string[] = [];
for (const topic of topics) {
  for (const subject of topic.subjects) {
    for (const problem of topic.problems) {
      // "går inte att logga in i" reads as "Det går inte att logga in i portalen".
      const backwards = problem.endsWith(' i');
      caseSubjects.push(backwards ? `Det ${problem}` : subject);
      caseProblems.push(backwards ? subject.toLowerCase() : problem);
      caseLocated.push(topic.located && !backwards);
      caseThings.push(subject.toLowerCase());
    }
  }
}

export const locations = [
  'på andra våningen',
  'i receptionen',
  'på lagret',
  'i konferensrummet',
  'på kontoret i Malmö',
  'hos ekonomiavdelningen',
  'i butiken',
  'på verkstaden',
  'i personalrummet',
  'hos vd:n',
];

export const whenPhrases = [
  'sedan i morse',
  'sedan i går',
  'sedan uppdateringen i fredags',
  'sedan förra veckan',
  'flera gånger om dagen',
  'efter lunch',
  'varje måndag',
  'sedan strömavbrottet',
  'då och då',
  'sedan flytten',
];

export const greetings = ['Hej!', 'Hej,', 'Hejsan!', 'God morgon,', 'Hej igen,', 'Hallå,'];

export const customerDetails = [
  'Vi har provat att starta om men det hjälper inte.',
  'Det påverkar hela avdelningen.',
  'Kan ni skicka en tekniker?',
  'Det är ganska bråttom eftersom vi har bokslut.',
  'Felmeddelandet säger "åtkomst nekad".',
  'Jag bifogar en skärmbild.',
  'Kan ni ringa mig när ni har tid?',
  'Vi behöver en offert på en ersättning.',
  'Det började efter att vi bytte leverantör.',
  'Kunderna i kassan får vänta.',
  'Ingen av oss på kontoret kan arbeta just nu.',
  'Det hände även förra månaden.',
];

// {sak} is replaced with the case's subject in lower case.
export const customerFollowUps = [
  'Tack för snabbt svar!',
  'Det fungerar fortfarande inte tyvärr.',
  'Nu verkar det fungera igen, tack.',
  'Torsdag förmiddag passar bra.',
  'Här kommer bilden ni bad om.',
  'Vi har fortfarande samma problem med {sak}.',
  'Modellen står på etiketten under {sak}.',
  'Kan ni ge en uppdatering om läget?',
  'Vi har startat om {sak} men felet kommer tillbaka.',
  'Tack, då väntar vi på besked från er.',
];

export const staffReplies = [
  'Tack för ditt meddelande! Vi tittar på det och återkommer under dagen.',
  'Kan du skicka en bild på felmeddelandet?',
  'Vi har nu åtgärdat felet. Hör av dig om något fortfarande krånglar.',
  'En tekniker kommer ut på torsdag förmiddag.',
  'Vi har beställt en ny reservdel, leveranstiden är cirka en vecka.',
  'Prova att logga ut och in igen, och rensa webbläsarens cache.',
  'Vi har uppdaterat drivrutinen för {sak} på distans.',
  'Fakturan är krediterad och en ny skickas i dag.',
  'Vi har skickat ärendet vidare till vår leverantör.',
  'Kan du bekräfta vilken modell det gäller?',
  'Vi har bytt ut {sak}. Säg till om det uppstår fler problem.',
  'Vi ringer upp dig i eftermiddag för att felsöka tillsammans.',
];

export const signOffs = ['Mvh', 'Med vänliga hälsningar', 'Hälsningar', 'Tack på förhand', 'Vänligen'];

export const discussionTexts = [
  'Kan någon som kan {sak} titta på detta?',
  'Jag tar kontakt med kunden i eftermiddag.',
  'Har vi haft samma fel hos dem tidigare?',
  'Leverantören återkommer på måndag.',
  'Kunden är lite irriterad, prioritera gärna.',
  'Jag har beställt reservdelar till {sak}.',
  'Fakturan är krediterad, ärendet kan stängas när kunden bekräftat.',
  'Jag var där i fjol med samma problem, det var nätverkskabeln då.',
];

export const freeMailDomains = ['gmail.com', 'hotmail.com', 'outlook.com', 'telia.com', 'live.se'];
