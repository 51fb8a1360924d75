"""Stopwords per answer language: function words plus the question words.

Question words ("why", "pourquoi", "mengapa") are dropped because news
passages answer questions without repeating them; the semantic retriever
still sees the full question.
"""

from __future__ import annotations

from typing import Final


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: Final[dict[str, frozenset[str]]] = {
    "en": _words(
        """
        a about above after again against all am an and any are as at be because been before being
        below between both but by can could did do does doing down during each few for from further
        had has have having he her here hers herself him himself his how i if in into is it its itself
        just me more most my myself no nor not now of off on once only or other our ours ourselves out
        over own same she should so some such than that the their theirs them themselves then there
        these they this those through to too under until up very was we were what when where which
        while who whom why will with would you your yours yourself yourselves s t don did didn say said
        tell told also there's what's whats
        """
    ),
    "fr": _words(
        """
        a ai aie aient aies ait as au aura aurai auraient aurais aurait auras aurez auriez aurions
        aurons auront aux avaient avais avait avec avez aviez avions avoir avons ayant ayez ayons c ce
        ceci cela celà ces cet cette d dans de des du elle elles en es est et étaient étais était étant
        été êtes étiez étions être eu eue eues eûmes eurent eus eusse eussent eusses eussiez eussions
        eut eût eûtes eux fûmes furent fus fusse fussent fusses fussiez fussions fut fût fûtes ici il
        ils j je l la le les leur leurs lui m ma mais me même mes moi mon n ne nos notre nous on ont ou
        où par pas pour qu que quel quelle quelles quels qui s sa sans se sera serai seraient serais
        serait seras serez seriez serions serons seront ses si son sont soyez soyons suis sur t ta te
        tes toi ton tu un une vos votre vous y pourquoi comment quand combien quoi lequel laquelle
        lesquels est-ce dit-il
        """
    ),
    "id": _words(
        """
        ada adalah agar akan aku anda antara apa apakah atas atau bagaimana bagi bahwa banyak beberapa
        begitu belum bisa dalam dan dari dengan di dia ia ini itu jika juga kalau kami kamu karena ke
        kenapa kepada ketika lagi lain maka masih mengapa mereka nya oleh pada para saat saja sama
        sampai sangat saya sebagai sebelum sedang sejak seperti setelah siapa sudah supaya tapi
        telah tentang tetapi untuk yang bila kapan berapa manakah mana dimana tersebut
        """
    ),
    "nl": _words(
        """
        aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een
        eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in
        is ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat
        onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was wat we
        wel werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo zonder zou waarom wanneer
        hoeveel welke welk waar
        """
    ),
    "de": _words(
        """
        aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
        auch auf aus bei bin bis bist da damit dann das dass daß dein deine dem den der des dessen die
        dies diese diesem diesen dieser dieses doch dort du durch ein eine einem einen einer eines er
        es etwas euer eure für gegen gewesen hab habe haben hat hatte hatten hier hin hinter ich ihm
        ihn ihnen ihr ihre im in indem ins ist jede jedem jeden jeder jedes jene jetzt kann kein keine
        können könnte machen man manche mein meine mich mir mit muss musste nach nicht nichts noch nun
        nur ob oder ohne sehr sein seine selbst sich sie sind so solche soll sollte sondern sonst über
        um und uns unser unter viel vom von vor war waren warst was weil weiter welche welchem welchen
        welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen wollte würde würden
        zu zum zur zwar zwischen warum wann wieso weshalb wieviel wer wen wem
        """
    ),
    "es": _words(
        """
        a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e
        el él ella ellas ellos en entre era erais eran eras eres es esa esas ese eso esos esta está
        estaba estaban estado estamos están estar este esto estos fue fueron fui fuimos ha había
        habían han has hasta hay la las le les lo los más me mi mis mucho muchos muy nada ni no nos
        nosotros o os otra otras otro otros para pero poco por porque que quien quienes qué se sea
        sean ser si sí sido sin sobre sois somos son soy su sus también tanto te tenía tengo ti tiene
        tienen todo todos tu tus un una uno unos vosotros y ya yo cómo cuándo cuánto cuántos cuántas
        dónde quién por qué cuál
        """
    ),
}
